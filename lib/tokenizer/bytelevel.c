/* tokenizer/bytelevel.c — GPT-2's byte <-> unicode table and split pattern.
 *
 * bytes_to_unicode() (openai/gpt-2 encoder.py): the 188 printable bytes
 * '!'..'~', U+00A1..U+00AC and U+00AE..U+00FF stand for themselves; the other
 * 68 bytes (controls, space, 0x7F..0xA0, 0xAD), in increasing order, map to
 * U+0100, U+0101, ...  So ' ' (0x20) is 'Ġ' (U+0120) and '\n' is 'Ċ' (U+010A).
 */
#include "tokenizer/tok_internal.h"

static int printable(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}

uint32_t st_bytelevel_char(unsigned char b)
{
    if (printable(b)) return b;
    unsigned n = 0;
    for (unsigned c = 0; c < b; c++)
        if (!printable(c)) n++;
    return 256 + n;
}

int st_bytelevel_byte(uint32_t cp)
{
    if (cp < 256) return printable(cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;
    unsigned n = cp - 256;
    for (unsigned c = 0; c < 256; c++)
        if (!printable(c) && n-- == 0) return (int)c;
    return -1;
}

/* The GPT-2 pre-tokenizer pattern, as HF's ByteLevel (use_regex) and
 * tiktoken's "gpt2" encoding use it. */
const char st_gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
