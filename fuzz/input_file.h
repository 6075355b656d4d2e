/*
 * input_file.h - writes a fuzzing input to a file, for the targets that
 * read captures by path. Included by one target per binary.
 */
#ifndef NF_FUZZ_INPUT_FILE_H
#define NF_FUZZ_INPUT_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

/*
 * Writes the input to <folder>/nf-fuzz-<name>-<pid>.pcap, in /dev/shm when
 * it is writable and /tmp otherwise. Returns the path, or NULL when the
 * write failed. The path stays the same for the whole process.
 */
static const char *nf_fuzz_write_input(const char *name, const uint8_t *data, size_t size)
{
    static char path[96];
    FILE *file;
    int ok;

    if (path[0] == '\0') {
        const char *folder = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

        snprintf(path, sizeof(path), "%s/nf-fuzz-%s-%ld.pcap", folder, name, (long)getpid());
    }
    file = fopen(path, "wb");
    if (file == NULL)
        return NULL;
    ok = fwrite(data, 1, size, file) == size;
    if (fclose(file) != 0 || !ok)
        return NULL;
    return path;
}

#endif
