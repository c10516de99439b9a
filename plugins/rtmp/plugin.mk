# rtmp plugin: libevent (its own listener and bufferevents), libcrypto (handshake HMAC-SHA256).
rtmp_LIBS := $(shell pkg-config --libs libevent libcrypto)
