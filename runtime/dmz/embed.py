#!/usr/bin/env python3
"""Turn the aula-dmz binary into a C array (rt_dmz_blob) linked into libruntime."""
import sys

data = open(sys.argv[1], 'rb').read()
with open(sys.argv[2], 'w') as out:
    out.write('/* generated from aula-dmz by embed.py */\n#include <stddef.h>\n')
    out.write('const unsigned char rt_dmz_blob[] = {\n')
    for i in range(0, len(data), 16):
        out.write('  ' + ', '.join(f'0x{b:02x}' for b in data[i:i + 16]) + ',\n')
    out.write('};\n')
    out.write(f'const size_t rt_dmz_blob_size = {len(data)};\n')
