/*
 * fail_calloc.c - LD_PRELOAD shim that makes chosen calloc calls of the
 * nfstream extension fail, to test how the engine survives running out
 * of memory. Only calls made from the extension module (found with
 * dladdr) and of exactly NF_TEST_FAIL_SIZE bytes count. Calls numbered
 * NF_TEST_FAIL_FROM (1 for the first) up to NF_TEST_FAIL_FROM +
 * NF_TEST_FAIL_COUNT - 1 return NULL; every other call goes to glibc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_calloc(size_t count, size_t size);

static long setting(const char *name)
{
    const char *text = getenv(name);

    return text != NULL ? strtol(text, NULL, 10) : -1;
}

static int called_from_extension(const void *address)
{
    Dl_info info;

    return dladdr(address, &info) != 0 && info.dli_fname != NULL &&
           strstr(info.dli_fname, "_engine") != NULL;
}

void *calloc(size_t count, size_t size)
{
    static long calls;
    long target = setting("NF_TEST_FAIL_SIZE");

    if (target > 0 && count * size == (size_t)target &&
        called_from_extension(__builtin_return_address(0))) {
        long first = setting("NF_TEST_FAIL_FROM");
        long number = ++calls;

        if (number >= first && number < first + setting("NF_TEST_FAIL_COUNT"))
            return NULL;
    }
    return __libc_calloc(count, size);
}
