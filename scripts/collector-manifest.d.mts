// Types of scripts/collector-manifest.mjs, for the tests that import it.
export interface ReleaseManifest {
  dist: { version: string };
  [kind: string]: unknown;
}
export declare const COMPONENT_KINDS: string[];
export declare function gomodFor(release: ReleaseManifest, kind: string, type: string): string;
export declare function readReleaseManifest(): Promise<ReleaseManifest>;
export declare function collectorManifest(components: Record<string, Set<string>>, version: string): Promise<Record<string, unknown>>;
