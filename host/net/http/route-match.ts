// Envoy's route selection for direct responses: the virtual host whose domains match the Host
// header best (exact, then the longest `*.suffix`, then the longest `prefix*`, then `*`), then
// that host's first route whose prefix or path matches, and whose header matchers all match
// (docs/envoy-host.md §16).

import type { DirectResponseRoute, HeaderMatch } from "../../config/model.ts";

/** A request header's values, each on its own (node's `headersDistinct`); undefined when absent. */
export type RequestHeaderValues = (name: string) => readonly string[] | undefined;

const NO_HEADERS: RequestHeaderValues = () => undefined;

/** The route answering this request, or undefined (Envoy answers 404). */
export function matchRoute(
  routes: DirectResponseRoute[],
  host: string,
  path: string,
  headers: RequestHeaderValues = NO_HEADERS,
): DirectResponseRoute | undefined {
  const hostName = host.toLowerCase();
  let bestRank = -1;
  let candidates: DirectResponseRoute[] = [];
  for (const route of routes) {
    const rank = Math.max(...route.domains.map((domain) => domainRank(domain.toLowerCase(), hostName)));
    if (rank > bestRank) {
      bestRank = rank;
      candidates = [route];
    } else if (rank === bestRank && rank >= 0) {
      candidates.push(route);
    }
  }
  return candidates.find((route) => pathMatches(route, path) && (route.headers ?? []).every((match) => headerMatches(match, headers(match.name))));
}

/**
 * Envoy's HeaderMatcher with a string_match, each value on its own (the runtime guard
 * match_headers_individually, on by default): an absent header never matches, inverted or not;
 * otherwise the route matches when a value matches, or, inverted, when none does.
 */
function headerMatches(match: HeaderMatch, values: readonly string[] | undefined): boolean {
  if (values === undefined || values.length === 0) return false;
  const matched = values.some((value) => stringMatches(match, value));
  return matched !== match.invertMatch;
}

function stringMatches(match: HeaderMatch, value: string): boolean {
  const text = match.ignoreCase ? value.toLowerCase() : value;
  if (match.exact !== undefined) return text === (match.ignoreCase ? match.exact.toLowerCase() : match.exact);
  if (match.prefix !== undefined) return text.startsWith(match.ignoreCase ? match.prefix.toLowerCase() : match.prefix);
  return false;
}

/** How well one domain matches the host: higher is better, -1 is no match. */
function domainRank(domain: string, host: string): number {
  const SPECIFICITY = 1_000_000;
  if (domain === host) return 3 * SPECIFICITY;
  if (domain === "*") return 0;
  if (domain.startsWith("*") && host.endsWith(domain.slice(1)) && host.length > domain.length - 1) {
    return 2 * SPECIFICITY + domain.length;
  }
  if (domain.endsWith("*") && host.startsWith(domain.slice(0, -1)) && host.length > domain.length - 1) {
    return SPECIFICITY + domain.length;
  }
  return -1;
}

function pathMatches(route: DirectResponseRoute, path: string): boolean {
  if (route.prefix !== undefined) return path.startsWith(route.prefix);
  // `path` matches the path without its query string
  return route.path === path.split("?")[0];
}
