/* Prints sizeof(struct nf_flow), the allocation fail_calloc.c targets. */
#include <stdio.h>

#include "nf_engine.h"

int main(void)
{
    printf("%zu\n", sizeof(struct nf_flow));
    return 0;
}
