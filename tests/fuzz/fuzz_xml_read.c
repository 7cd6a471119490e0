/* Fuzz the XML reader (src/protocol/xml_read.c) that reads S3's request bodies: any input
 * either parses into a tree or is refused with a message; the tree's names and texts are
 * NUL-terminated with their recorded lengths, and lookups on it never crash. */
#include "protocol/xml_read.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void walk(const xml_node *n, int depth)
{
    for (; n; n = n->next) {
        if (depth > XML_READ_MAX_DEPTH || strlen(n->text) != n->text_len || !n->name[0])
            abort();
        xml_child(n, "Key");
        xml_local_name(n);
        walk(n->child, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    xml_node *root = xml_read((const char *)data, size, err, sizeof err);
    if (!root && !err[0])
        abort(); /* a refusal always says why */
    walk(root, 1);
    xml_free(root);
    return 0;
}
