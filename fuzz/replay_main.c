/*
 * replay_main.c - runs a libFuzzer target over files named on the command
 * line, without libFuzzer, so regression inputs can be replayed by a plain
 * sanitizer build in the test suite. Exits 0 when every file ran; a
 * finding aborts through the sanitizer with a non-zero status.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    uint8_t *data = NULL;
    long size;

    if (file == NULL || fseek(file, 0, SEEK_END) != 0 || (size = ftell(file)) < 0 ||
        fseek(file, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: cannot read '%s'\n", path);
        if (file != NULL)
            fclose(file);
        return -1;
    }
    data = malloc(size > 0 ? (size_t)size : 1);
    if (data == NULL || fread(data, 1, (size_t)size, file) != (size_t)size) {
        fprintf(stderr, "replay: cannot read '%s'\n", path);
        free(data);
        fclose(file);
        return -1;
    }
    fclose(file);
    /* Named before the run, so a sanitizer report follows the name of its input. */
    fprintf(stderr, "replay: %s\n", path);
    LLVMFuzzerTestOneInput(data, (size_t)size);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (replay_file(argv[i]) != 0)
            return 2;
    }
    printf("replayed %d inputs\n", argc - 1);
    return 0;
}
