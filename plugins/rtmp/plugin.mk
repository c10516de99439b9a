# rtmp plugin: libcrypto (handshake HMAC-SHA256). Sockets are watched on the host loop (SDK 1.3).
rtmp_LIBS := $(shell pkg-config --libs libcrypto)
