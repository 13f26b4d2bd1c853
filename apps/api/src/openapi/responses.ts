import { ref, type ComponentName } from './components.js';

/*
 * Answers shared by many operations, under `components.responses`: what the middleware in front
 * of every route (token check, rate limit, body parser, error handler) may answer.
 */

const errorBody = { 'application/json': { schema: ref('Error') } };
const retryAfter = {
  'Retry-After': { description: 'Seconds until the next minute window.', schema: { type: 'integer' } },
};

export const sharedResponses = {
  InvalidRequest: {
    description:
      'INVALID_REQUEST (fields named in `details`), or a refused source: HOST_NOT_ALLOWED, PRIVATE_ADDRESS, UNSAFE_FORMAT.',
    content: errorBody,
  },
  NotFound: { description: 'NOT_FOUND', content: errorBody },
  Unauthorized: {
    description: 'UNAUTHORIZED: API_TOKEN is set and the request has no valid `Authorization: Bearer` token.',
    headers: { 'WWW-Authenticate': { schema: { type: 'string' } } },
    content: errorBody,
  },
  Forbidden: { description: 'READ_ONLY_TOKEN: a read-only token may only GET.', content: errorBody },
  PayloadTooLarge: { description: 'PAYLOAD_TOO_LARGE: the JSON body is over 1 MiB.', content: errorBody },
  RateLimited: {
    description:
      'RATE_LIMITED: over RATE_LIMIT_PER_MINUTE for this token, or too many failed sign-ins from this address.',
    headers: retryAfter,
    content: errorBody,
  },
  Unavailable: { description: 'REDIS_UNAVAILABLE: the queue is not answering; try again shortly.', content: errorBody },
  ServerError: {
    description: 'VOLUME_UNWRITABLE (a model folder is unsafe to change: named in the message) or INTERNAL.',
    content: errorBody,
  },
} as const;
type SharedResponse = keyof typeof sharedResponses;

export const shared = (name: SharedResponse) => ({ $ref: `#/components/responses/${name}` });
export const json = (name: ComponentName, description: string) => ({
  description,
  content: { 'application/json': { schema: ref(name) } },
});
export const error = (description: string) => json('Error', description);
export const text = (type: string, description: string) => ({
  description,
  content: { [type]: { schema: { type: 'string' } } },
});
export const events = (name: ComponentName, description: string) => ({
  description: `${description} Each event is \`event: NAME\` with one \`data:\` line of JSON, described by ${name} as {event, data}; a comment line \`: keep-alive\` comes every 15 s.`,
  content: { 'text/event-stream': { schema: ref(name) } },
});
