/*
 * hello.h - the `hello` service (version 1.0) that the example plugin provides to other plugins.
 *
 * Another plugin lists {HELLO_SERVICE, HELLO_MAJOR, 0, 0} in its `requires` (so that it is loaded
 * after hello) and gets the table in its init:
 *     const hello_api *h = host->service_get(self, HELLO_SERVICE, HELLO_MAJOR, 0);
 * The table lives as long as the process. Call its functions on the loop thread only; check
 * `size` before calling a function added in a later minor version.
 */
#ifndef HELLO_H
#define HELLO_H

#include <stddef.h>
#include <stdint.h>

#define HELLO_SERVICE "hello"
#define HELLO_MAJOR   1
#define HELLO_MINOR   0

typedef struct hello_api {
    size_t size; /* sizeof(hello_api) of the provider */
    /* Greetings this node answered since it started. */
    uint64_t (*greetings)(void);
    /* Events seen on the bus under "hello.*" since start. */
    uint64_t (*events)(void);
} hello_api;

#endif
