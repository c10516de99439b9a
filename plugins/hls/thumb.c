/*
 * thumb.c - room thumbnails. The sink hands over every video keyframe (a packet reference);
 * every thumbnail_interval_ms the plugin's tick sends the newest one, if it was not used yet and
 * no job of the room is in flight, to a worker (host->work): build a decoder from the track's
 * extradata (avcC / hvcC), decode the keyframe, scale it (libswscale, full-range 4:2:0) to
 * thumbnail_width keeping the display aspect, encode a JPEG with libavcodec's mjpeg encoder.
 * Back on the loop the JPEG replaces the room's thumbnail (served by serve.c; it stays through
 * the grace period after the stream ended).
 *
 * Bounded: one job per room at a time; a keyframe that arrives meanwhile replaces the pending
 * one (the queue never grows). The loop only takes/drops references and stores the result.
 *
 * Threads: thumb_work runs on a worker and touches only its job: its own copies of the
 * extradata, and the bytes of the packet the job holds a reference on (immutable; the reference
 * is taken and dropped on the loop). Everything else on the loop.
 */
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/hls/hls.h"

typedef struct thumb_job {
    hls_room *room;      /* a reference; loop only */
    sh_packet *pkt;      /* a reference; loop only */
    const uint8_t *data; /* the packet's bytes: read on the worker */
    size_t len;
    int codec; /* SH_CODEC_H264 / SH_CODEC_HEVC */
    uint8_t *extra;
    size_t extra_len;
    int width;
    /* results */
    uint8_t *jpeg;
    size_t jpeg_len;
    int out_w, out_h;
    const char *err;
} thumb_job;

/* ---- worker ------------------------------------------------------------------------------- */

static AVFrame *decode_keyframe(thumb_job *j) {
    const AVCodec *dec = avcodec_find_decoder(j->codec == SH_CODEC_HEVC ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264);
    AVCodecContext *dc = dec ? avcodec_alloc_context3(dec) : NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    if (!dc || !pkt || !frame) {
        j->err = "no decoder or out of memory";
        goto fail;
    }
    dc->thread_count = 1; /* we are a worker already */
    dc->extradata = av_mallocz(j->extra_len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!dc->extradata) goto fail;
    memcpy(dc->extradata, j->extra, j->extra_len);
    dc->extradata_size = (int)j->extra_len;
    if (avcodec_open2(dc, dec, NULL) < 0) {
        j->err = "the decoder refused the extradata";
        goto fail;
    }
    if (av_new_packet(pkt, (int)j->len) < 0) goto fail; /* padded copy, as decoders require */
    memcpy(pkt->data, j->data, j->len);
    pkt->flags |= AV_PKT_FLAG_KEY;
    if (avcodec_send_packet(dc, pkt) < 0 || avcodec_send_packet(dc, NULL) < 0) {
        j->err = "the decoder refused the keyframe";
        goto fail;
    }
    if (avcodec_receive_frame(dc, frame) < 0) {
        j->err = "the keyframe decoded to no picture";
        goto fail;
    }
    av_packet_free(&pkt);
    avcodec_free_context(&dc);
    return frame;
fail:
    if (!j->err) j->err = "out of memory";
    av_packet_free(&pkt);
    av_frame_free(&frame);
    avcodec_free_context(&dc);
    return NULL;
}

static AVFrame *scale(thumb_job *j, const AVFrame *in) {
    int sw = in->width, sh = in->height;
    AVRational sar = in->sample_aspect_ratio;
    if (sar.num <= 0 || sar.den <= 0) sar = (AVRational){1, 1};
    int ow = j->width & ~1;
    if (ow < 2) ow = 2;
    /* display height = ow * sh / (sw * sar), even, at least 2 */
    int64_t oh = ((int64_t)ow * sh * sar.den + (int64_t)sw * sar.num) / (2 * (int64_t)sw * sar.num) * 2;
    if (oh < 2) oh = 2;
    if (oh > 8192) oh = 8192;
    AVFrame *out = av_frame_alloc();
    if (!out) return NULL;
    out->format = AV_PIX_FMT_YUV420P;
    out->width = ow;
    out->height = (int)oh;
    out->color_range = AVCOL_RANGE_JPEG;
    struct SwsContext *sws =
        sws_getContext(sw, sh, in->format, ow, (int)oh, AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL);
    if (!sws || av_frame_get_buffer(out, 0) < 0) {
        j->err = "cannot scale this picture";
        sws_freeContext(sws);
        av_frame_free(&out);
        return NULL;
    }
    /* limited-range video in, full-range (JFIF) out */
    const int *coefs = sws_getCoefficients(SWS_CS_DEFAULT);
    sws_setColorspaceDetails(sws, coefs, in->color_range == AVCOL_RANGE_JPEG, coefs, 1, 0, 1 << 16, 1 << 16);
    sws_scale(sws, (const uint8_t *const *)in->data, in->linesize, 0, sh, out->data, out->linesize);
    sws_freeContext(sws);
    return out;
}

static void encode_jpeg(thumb_job *j, AVFrame *pic) {
    const AVCodec *enc = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    AVCodecContext *ec = enc ? avcodec_alloc_context3(enc) : NULL;
    AVPacket *pkt = av_packet_alloc();
    if (!ec || !pkt) {
        j->err = "no mjpeg encoder or out of memory";
        goto done;
    }
    ec->width = pic->width;
    ec->height = pic->height;
    ec->pix_fmt = AV_PIX_FMT_YUV420P;
    ec->color_range = AVCOL_RANGE_JPEG;
    ec->time_base = (AVRational){1, 25};
    ec->thread_count = 1;
    ec->flags |= AV_CODEC_FLAG_QSCALE;
    ec->global_quality = FF_QP2LAMBDA * 4; /* q 4: good quality, ~30-60 KB at 640x360 */
    if (avcodec_open2(ec, enc, NULL) < 0) {
        j->err = "the mjpeg encoder refused the picture format";
        goto done;
    }
    pic->quality = ec->global_quality;
    pic->pict_type = AV_PICTURE_TYPE_I;
    pic->pts = 0;
    if (avcodec_send_frame(ec, pic) < 0 || avcodec_send_frame(ec, NULL) < 0 || avcodec_receive_packet(ec, pkt) < 0) {
        j->err = "JPEG encoding failed";
        goto done;
    }
    j->jpeg = malloc((size_t)pkt->size);
    if (!j->jpeg) goto done;
    memcpy(j->jpeg, pkt->data, (size_t)pkt->size);
    j->jpeg_len = (size_t)pkt->size;
    j->out_w = pic->width;
    j->out_h = pic->height;
done:
    av_packet_free(&pkt);
    avcodec_free_context(&ec);
}

static void thumb_work(void *ud) {
    thumb_job *j = ud;
    AVFrame *frame = decode_keyframe(j);
    if (!frame) return;
    AVFrame *pic = scale(j, frame);
    av_frame_free(&frame);
    if (!pic) return;
    encode_jpeg(j, pic);
    av_frame_free(&pic);
}

/* ---- loop --------------------------------------------------------------------------------- */

static void job_free(thumb_job *j) {
    free(j->extra);
    free(j->jpeg);
    free(j);
}

static void thumb_done(void *ud) {
    thumb_job *j = ud;
    hls_room *r = j->room;
    const sh_host_api *h = hls_g.h;
    h->packet_unref(j->pkt);
    r->thumb_busy = false;
    if (j->jpeg && !hls_g.finished) {
        hls_buf *b = hls_buf_wrap(j->jpeg, j->jpeg_len);
        j->jpeg = NULL;
        if (b) {
            hls_buf_unref(r->thumb);
            r->thumb = b;
            r->thumb_w = j->out_w;
            r->thumb_h = j->out_h;
            r->thumb_at = h->wall_ms(hls_g.self);
            h->metric_add(hls_g.m_thumbs, 1);
        }
    } else if (!hls_g.finished) {
        h->metric_add(hls_g.m_thumb_fail, 1);
        HLS_LOG(SH_LOG_DEBUG, "room %s: no thumbnail: %s", r->id, j->err ? j->err : "failed");
    }
    job_free(j);
    hls_room_unref(r);
}

void hls_thumb_keyframe(hls_room *r, sh_packet *pkt) {
    if (hls_g.thumb_interval_ms <= 0) return;
    const sh_host_api *h = hls_g.h;
    if (r->key_pkt) h->packet_unref(r->key_pkt);
    r->key_pkt = h->packet_ref(pkt);
    r->key_new = true;
}

void hls_thumb_tick(hls_room *r, uint64_t now_ms) {
    const sh_host_api *h = hls_g.h;
    if (!r->key_pkt || !r->key_new || r->thumb_busy || now_ms < r->next_thumb_ms || hls_g.stopping || !r->key_extra_len)
        return;
    r->next_thumb_ms = now_ms + (uint64_t)hls_g.thumb_interval_ms;
    thumb_job *j = calloc(1, sizeof *j);
    if (!j) return;
    j->extra = malloc(r->key_extra_len);
    if (!j->extra) {
        free(j);
        return;
    }
    memcpy(j->extra, r->key_extra, r->key_extra_len);
    j->extra_len = r->key_extra_len;
    j->codec = r->key_codec;
    j->width = hls_g.thumb_width;
    j->pkt = h->packet_ref(r->key_pkt);
    j->data = h->packet_data(j->pkt, &j->len);
    j->room = r;
    if (h->work(hls_g.self, thumb_work, thumb_done, j) != SH_OK) {
        h->packet_unref(j->pkt);
        job_free(j);
        return; /* queue full: try again next interval */
    }
    hls_room_ref(r);
    r->thumb_busy = true;
    r->key_new = false;
}

void hls_thumb_release(hls_room *r) {
    if (r->key_pkt) hls_g.h->packet_unref(r->key_pkt);
    r->key_pkt = NULL;
    hls_buf_unref(r->thumb);
    r->thumb = NULL;
    free(r->key_extra);
    r->key_extra = NULL;
    r->key_extra_len = 0;
}
