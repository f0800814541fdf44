#!/usr/bin/env python3
"""Turn the aula-keeper binary into a C array (shim_keeper_blob) linked into aula-shim."""
import sys

data = open(sys.argv[1], 'rb').read()
with open(sys.argv[2], 'w') as out:
    out.write('/* generated from aula-keeper by embed.py */\n#include <stddef.h>\n')
    out.write('const unsigned char shim_keeper_blob[] = {\n')
    for i in range(0, len(data), 16):
        out.write('  ' + ', '.join(f'0x{b:02x}' for b in data[i:i + 16]) + ',\n')
    out.write('};\n')
    out.write(f'const size_t shim_keeper_blob_size = {len(data)};\n')
