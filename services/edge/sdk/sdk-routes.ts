/**
 * The producers' own SDKs on the edge: Segment's HTTP Tracking API (segment/) and
 * Snowplow's tracker protocol (snowplow/), each mapped into the envelope and stored
 * through the same sink as `POST /v1/events` (2xx only after acks=all), held to their
 * sources' quotas as it is.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../../../lib/logger';
import type { AuthConfig, KeyChecker } from '../http/auth';
import type { EdgeMetrics } from '../metrics';
import type { Sink } from '../sink';
import type { SourcePolicy } from '../sources/source-policy';
import { appIdChecker } from './app-ids';
import type { SdkRoute } from './sdk-route';
import { segmentRoutes } from './segment/routes';
import { SNOWPLOW_PATHS, snowplowCors, snowplowRoutes } from './snowplow/routes';

export interface SdkOptions {
  /** app id -> source (INTAKE_BROWSER_APP_IDS). */
  browserAppIds: ReadonlyMap<string, string>;
  /** The app id checker (app-ids.ts); absent: made from `auth` when keys are required. */
  checkAppId?: KeyChecker;
}

export interface SdkAppDeps {
  sink: Sink;
  metrics: EdgeMetrics;
  logger: Logger;
  defaultSource: string;
  maxEventsPerRequest: number;
  maxBodyBytes: number;
  auth?: AuthConfig;
  sdk?: SdkOptions;
  /** Per-source quotas, taken by the SDK routes in events (store-mapped.ts). */
  sources?: SourcePolicy;
}

export function sdkRoutes(
  deps: SdkAppDeps,
  checkKey: KeyChecker | undefined,
): { routes: SdkRoute[]; cors: RequestHandler; corsPaths: string[] } {
  const browserAppIds = deps.sdk?.browserAppIds ?? new Map<string, string>();
  const checkAppId =
    deps.sdk?.checkAppId ??
    (deps.auth?.required ? appIdChecker(deps.auth, browserAppIds) : undefined);
  return {
    routes: [
      ...segmentRoutes(deps, checkKey),
      ...snowplowRoutes({ ...deps, checkKey, browserAppIds, checkAppId }),
    ],
    cors: snowplowCors(),
    corsPaths: SNOWPLOW_PATHS,
  };
}
