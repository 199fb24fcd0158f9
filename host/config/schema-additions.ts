// The one place where the schema loaded from @grpc/grpc-js-xds is brought up to current Envoy.
// Those .proto files predate fields that Envoy 1.39 accepts; without them a valid envoy.yaml
// would be refused. Each addition copies the field number, type and validation of
// envoyproxy/data-plane-api envoy/extensions/wasm/v3/wasm.proto (2026), nothing looser.

import protobuf from "protobufjs";

const WASM_PACKAGE = "envoy.extensions.wasm.v3";

export function addCurrentEnvoyFields(root: protobuf.Root): void {
  const wasm = root.lookup(WASM_PACKAGE);
  if (!(wasm instanceof protobuf.Namespace)) throw new Error(`schema: package ${WASM_PACKAGE} is not loaded`);

  // What happens to new traffic once the plugin's VM has failed.
  wasm.add(
    new protobuf.Enum("FailurePolicy", { UNSPECIFIED: 0, FAIL_RELOAD: 1, FAIL_CLOSED: 2, FAIL_OPEN: 3 }),
  );
  // The back-off of FAIL_RELOAD; BackoffStrategy carries its own validation rules.
  const reloadConfig = new protobuf.Type("ReloadConfig");
  reloadConfig.add(new protobuf.Field("backoff", 1, "envoy.config.core.v3.BackoffStrategy"));
  wasm.add(reloadConfig);

  const pluginConfig = root.lookupType(`${WASM_PACKAGE}.PluginConfig`);
  const added = [
    new protobuf.Field("failure_policy", 7, "FailurePolicy"),
    new protobuf.Field("reload_config", 8, "ReloadConfig"),
    new protobuf.Field("allow_on_headers_stop_iteration", 9, "google.protobuf.BoolValue"),
  ];
  for (const field of added) pluginConfig.add(field);

  // The schema was resolved when it was loaded; types added later must be resolved here.
  reloadConfig.resolveAll();
  for (const field of added) field.resolve();
}
