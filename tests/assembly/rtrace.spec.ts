// Guards the fix in as-pect.config.cjs: without it, as-pect's rtrace misses a block that grows in
// place and reports "shadow region mismatch" when that block is later moved or freed, blaming
// whichever spec happens to run next. No plugin code is involved here.

describe("rtrace in these specs", () => {
  it("follows a block that grows in place and then moves", () => {
    const block = __alloc(16);
    __free(__alloc(64)); // leaves a free block right of `block`
    const grown = __realloc(block, 64); // TLSF merges the free neighbour: same address
    expect(grown).toBe(block);
    __free(__realloc(grown, 4096)); // too large to grow: moved, and `grown` is freed
  });
});
