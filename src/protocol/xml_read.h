/* A small XML reader for the request bodies Sluice reads (S3's DeleteObjects and
 * CreateBucketConfiguration): the document as a tree of elements with their text.
 *
 * What it accepts: an optional XML declaration, processing instructions and comments, one
 * root element, attributes (read and ignored: namespaces are matched by local name), character
 * data with the five predefined entities and numeric character references, CDATA sections.
 * What it refuses: a DOCTYPE (no entity expansion, hence no entity bombs), mismatched or
 * unclosed tags, text outside the root, characters XML forbids, more than XML_READ_MAX_DEPTH
 * levels or XML_READ_MAX_NODES elements. Element names keep their prefix; lookups compare
 * local names. Any input either parses or is refused with a message; nothing is read past n. */
#ifndef SLUICE_PROTOCOL_XML_READ_H
#define SLUICE_PROTOCOL_XML_READ_H

#include <stddef.h>

#define XML_READ_MAX_DEPTH 64
#define XML_READ_MAX_NODES 100000

typedef struct xml_node {
    char *name;             /* as written, prefix included */
    char *text;             /* the element's own character data, concatenated ("" if none) */
    size_t text_len;        /* may contain no NUL: references to U+0000 are refused */
    struct xml_node *child; /* first child element */
    struct xml_node *next;  /* next sibling */
} xml_node;

/* Parses text[0..n) (borrowed). Returns the root (caller frees with xml_free), or NULL with
 * the reason in err. */
xml_node *xml_read(const char *text, size_t n, char *err, size_t errlen);
void xml_free(xml_node *root);
/* The local name of a node ("Delete" for "s3:Delete"). */
const char *xml_local_name(const xml_node *node);
/* The first child whose local name is `name`, or NULL. Borrows both. */
const xml_node *xml_child(const xml_node *node, const char *name);

#endif
