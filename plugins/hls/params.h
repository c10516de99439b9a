/*
 * hls/params - codec parameters from extradata: the picture size in an H.264 avcC or HEVC hvcC
 * record (its first sequence parameter set, cropping applied) and the sample rate and channel
 * count of an AAC AudioSpecificConfig. Pure: explicit limits, no allocation, no globals; any
 * thread. Each returns 0 with the values stored, or -1 (outputs untouched) when the record is
 * malformed or truncated.
 */
#ifndef HLS_PARAMS_H
#define HLS_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int hls_h264_dims(const uint8_t *avcc, size_t n, int *width, int *height);
int hls_hevc_dims(const uint8_t *hvcc, size_t n, int *width, int *height);
/* *channels is 0 when the channel configuration is 0 (a program config element defines it). */
int hls_asc_info(const uint8_t *asc, size_t n, int *sample_rate, int *channels);

#endif
