#!/usr/bin/env python3
"""Turn a binary into a C array linked into a library: embed.py SYMBOL INPUT OUTPUT defines
SYMBOL[] (the bytes) and SYMBOL_size. Used for the freestanding aula-dmz and aula-keeper."""
import os
import sys

symbol, src, dst = sys.argv[1:4]
data = open(src, 'rb').read()
with open(dst, 'w') as out:
    out.write(f'/* generated from {os.path.basename(src)} by embed.py */\n#include <stddef.h>\n')
    out.write(f'const unsigned char {symbol}[] = {{\n')
    for i in range(0, len(data), 16):
        out.write('  ' + ', '.join(f'0x{b:02x}' for b in data[i:i + 16]) + ',\n')
    out.write('};\n')
    out.write(f'const size_t {symbol}_size = {len(data)};\n')
