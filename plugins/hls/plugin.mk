# hls plugin: libavformat (fMP4 muxing to memory), libavcodec + libswscale (thumbnails on
# workers), libavutil.
hls_LIBS := $(shell pkg-config --libs libavformat libavcodec libswscale libavutil)
