# auth plugin: libjwt (HS256 tokens), libxcrypt (bcrypt $2b$), libcrypto (SHA-256, AES-GCM, HMAC).
auth_LIBS := $(shell pkg-config --libs libjwt libcrypt libcrypto)
