#!/usr/bin/env python3
"""Prints the top-level import names of a WebAssembly component (one per line), or fails if the
file is not a component. Used by build.sh to check the corpus; no wasm tooling needed."""
import sys


def leb(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def name(data, pos):
    length, pos = leb(data, pos)
    return data[pos:pos + length].decode(), pos + length


def imports(data):
    if data[:8] != b"\x00asm\x0d\x00\x01\x00":
        raise SystemExit(f"not a component (header {data[:8].hex(' ')})")
    pos, found = 8, []
    while pos < len(data):
        section, pos = data[pos], pos + 1
        size, pos = leb(data, pos)
        end = pos + size
        if section == 10:  # component import section
            count, p = leb(data, pos)
            for _ in range(count):
                p += 1  # 0x00 (plain name) or 0x01 (interface name, older encoders)
                n, p = name(data, p)
                found.append(n)
                sort, p = data[p], p + 1
                if sort == 0x00:  # core module: 0x11 type index
                    p += 1
                    _, p = leb(data, p)
                elif sort in (0x01, 0x04, 0x05):  # func, component, instance type index
                    _, p = leb(data, p)
                elif sort == 0x02:  # value bound: 0x00 i or 0x01 valtype
                    p += 1
                    _, p = leb(data, p)
                elif sort == 0x03:  # type bound: 0x00 i (eq) or 0x01 (sub resource)
                    if data[p] == 0x00:
                        _, p = leb(data, p + 1)
                    else:
                        p += 1
                else:
                    raise SystemExit(f"unknown extern sort {sort:#x}")
        pos = end
    return found


if __name__ == "__main__":
    for import_name in imports(open(sys.argv[1], "rb").read()):
        print(import_name)
