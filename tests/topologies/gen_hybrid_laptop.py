#!/usr/bin/python3
"""Writes hybrid-laptop.xml: an Intel Core i7-1260P (Alder Lake-P) as hwloc
2.9 describes it on Linux, which synthetic descriptions cannot express (they
are symmetric, and have no CPU kinds).

4 performance cores (Golden Cove, SMT2, 1.25 MiB L2 each, PUs 0-7 with the
siblings adjacent as Linux numbers them) and 8 efficiency cores (Gracemont,
no SMT, two clusters of 4 sharing a 2 MiB L2, PUs 8-15), one 18 MiB L3, one
NUMA node; two CPU kinds with the infos Linux gives hwloc (CoreType,
FrequencyMaxMHz), no forced efficiency, so hwloc ranks them itself.

usage: gen_hybrid_laptop.py > hybrid-laptop.xml
"""

gp = [0]


def gpi():
    gp[0] += 1
    return gp[0]


def mask(pus):
    return "0x%08x" % sum(1 << p for p in pus)


def sets(pus):
    m = mask(pus)
    return (f'cpuset="{m}" complete_cpuset="{m}" nodeset="0x00000001" '
            f'complete_nodeset="0x00000001"')


def cache(kind, pus, size, depth, ctype, assoc, inner, ind):
    pad = "  " * ind
    return (f'{pad}<object type="{kind}" {sets(pus)} gp_index="{gpi()}" cache_size="{size}" '
            f'depth="{depth}" cache_linesize="64" cache_associativity="{assoc}" '
            f'cache_type="{ctype}">\n' + inner + f"{pad}</object>\n")


def core(os_index, pus, ind):
    pad = "  " * ind
    s = f'{pad}<object type="Core" os_index="{os_index}" {sets(pus)} gp_index="{gpi()}">\n'
    for p in pus:
        s += f'{pad}  <object type="PU" os_index="{p}" {sets([p])} gp_index="{gpi()}"/>\n'
    return s + f"{pad}</object>\n"


body = ""
# Performance cores: Linux core ids 0, 4, 8, 12; PUs 2c, 2c+1.
for c in range(4):
    pus = [2 * c, 2 * c + 1]
    l1 = cache("L1Cache", pus, 48 * 1024, 1, 1, 12, core(4 * c, pus, 8), 7)
    body += cache("L2Cache", pus, 1280 * 1024, 2, 0, 10, l1, 6)
# Efficiency cores: two clusters of four sharing an L2; core ids 16-23.
for e in range(2):
    pus = list(range(8 + 4 * e, 12 + 4 * e))
    inner = "".join(cache("L1Cache", [p], 32 * 1024, 1, 1, 8, core(16 + p - 8, [p], 8), 7)
                    for p in pus)
    body += cache("L2Cache", pus, 2048 * 1024, 2, 0, 16, inner, 6)
allpus = list(range(16))
l3 = cache("L3Cache", allpus, 18 * 1024 * 1024, 3, 0, 12, body, 5)
numa = (f'      <object type="NUMANode" os_index="0" {sets(allpus)} gp_index="{gpi()}" '
        f'local_memory="16777216000">\n'
        f'        <page_type size="4096" count="4096000"/>\n      </object>\n')
m = mask(allpus)
print(f'''<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE topology SYSTEM "hwloc2.dtd">
<topology version="2.0">
  <object type="Machine" os_index="0" cpuset="{m}" complete_cpuset="{m}" allowed_cpuset="{m}" nodeset="0x00000001" complete_nodeset="0x00000001" allowed_nodeset="0x00000001" gp_index="{gpi()}">
    <info name="Backend" value="Linux"/>
    <info name="OSName" value="Linux"/>
    <info name="Architecture" value="x86_64"/>
    <info name="hwlocVersion" value="2.9.0"/>
    <object type="Package" os_index="0" {sets(allpus)} gp_index="{gpi()}">
      <info name="CPUVendor" value="GenuineIntel"/>
      <info name="CPUFamilyNumber" value="6"/>
      <info name="CPUModelNumber" value="154"/>
      <info name="CPUModel" value="12th Gen Intel(R) Core(TM) i7-1260P"/>
{numa}{l3}    </object>
  </object>
  <cpukind cpuset="{mask(range(8, 16))}">
    <info name="FrequencyMaxMHz" value="3400"/>
    <info name="CoreType" value="IntelAtom"/>
  </cpukind>
  <cpukind cpuset="{mask(range(8))}">
    <info name="FrequencyMaxMHz" value="4700"/>
    <info name="CoreType" value="IntelCore"/>
  </cpukind>
  <support name="discovery.pu"/>
  <support name="discovery.numa"/>
  <support name="discovery.numa_memory"/>
  <support name="custom.exported_support"/>
</topology>''')
