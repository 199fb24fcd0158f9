// as-pect: the AssemblyScript unit specs in tests/assembly, run against a mocked Envoy host.
// The mock (tests/assembly/host-mock.cjs) provides the env imports the plugin uses plus a `mock`
// module the specs use to set properties and buffers and to read back logs and metrics.

const { TestContext } = require("@as-pect/core");
const { createHostMock } = require("./tests/assembly/host-mock.cjs");

// as-pect 5.0.1 leaves TestContext#onresize empty, so rtrace's shadow map never learns that a
// block grew in place (TLSF merging it with a free right neighbour); freeing or moving that
// block later fails with "shadow region mismatch: 0 != <block>" although nothing is wrong.
// Forward it to rtrace, as AssemblyScript's own rtrace does.
TestContext.prototype.onresize = function (block, oldSize) {
  this.rtrace.onresize(block, oldSize);
};

module.exports = {
  include: ["tests/assembly/**/*.spec.ts"],
  add: [],
  flags: {
    "--runtime": ["full"],
    // asc reads asconfig.json on its own: a target that does not exist there keeps the release
    // options (noAssert, abort=..., runtime half) out of the spec builds.
    "--target": ["as-pect"],
  },
  disclude: [/node_modules/],
  imports(memory, createImports, instantiateSync, binary) {
    const mock = createHostMock(memory);
    const instance = instantiateSync(binary, createImports(mock.imports));
    mock.bind(instance.exports);
    return instance;
  },
  outputBinary: false,
};
