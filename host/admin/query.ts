// An admin request's query string as Envoy reads it: name=value pairs split on `&`, each
// percent-decoded, a name without `=` given the empty value, the first of a repeated name kept.

export type QueryParams = Map<string, string>;

export function parseQuery(pathAndQuery: string): QueryParams {
  const params: QueryParams = new Map();
  const start = pathAndQuery.indexOf("?");
  if (start < 0) return params;
  for (const pair of pathAndQuery.slice(start + 1).split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    const name = decode(equals < 0 ? pair : pair.slice(0, equals));
    const value = equals < 0 ? "" : decode(pair.slice(equals + 1));
    if (!params.has(name)) params.set(name, value);
  }
  return params;
}

/** Percent-decoding; text that is not valid percent-encoding stays as written. */
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
