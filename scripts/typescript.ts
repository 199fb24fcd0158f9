// The TypeScript compiler, for the scripts that read the project's sources (check-filter.ts before
// every asc, kit-reference.ts). Loaded by require rather than import: through tsx's ESM hooks,
// which run on another thread, its 9 MB file took a second longer to load, on every module built.
// Its types are imported on their own: `import type ts from "typescript"`.

import { createRequire } from "node:module";
import type ts from "typescript";

export const typescript: typeof ts = createRequire(import.meta.url)("typescript");
