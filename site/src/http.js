// @ts-check
// fetch with bounded retries (exponential backoff, full jitter, Retry-After honoured), and errors the view can explain.

export const MAX_RETRIES = 2 // three attempts in all
export const BASE_DELAY_MS = 300
export const MAX_DELAY_MS = 10_000 // no single wait is longer; a Retry-After beyond it ends the retries

/** @typedef {'network' | 'throttled' | 'rejected' | 'service'} FailureKind */

/** A request that failed: `kind` says whether the network, throttling, the request or the service is to blame. */
export class ServiceError extends Error {
  /**
   * @param {FailureKind} kind
   * @param {string} message
   * @param {number} [status] HTTP status; 0 when no response came
   * @param {unknown} [body] the parsed JSON error body, if any
   */
  constructor (kind, message, status = 0, body = undefined) {
    super(message)
    this.name = 'ServiceError'
    this.kind = kind
    this.status = status
    this.body = body
  }
}

/**
 * @typedef {{
 *   retries?: number,
 *   baseDelayMs?: number,
 *   maxDelayMs?: number,
 *   retryOn?: (response: Response) => boolean | Promise<boolean>,
 *   sleep?: (ms: number) => Promise<void>,
 *   random?: () => number,
 *   now?: () => number
 * }} RetryOptions
 */

/**
 * Send (and re-send, while `retryOn` says so: by default 5xx and 429) a request; `send` builds a fresh request each
 * time, so a signature never goes stale. The wait grows exponentially with full jitter, and is never shorter than
 * the answer's Retry-After; a Retry-After longer than `maxDelayMs` is not waited for (the last response is returned).
 * Network failures are not retried here: the user gets a Retry button.
 * @param {() => Promise<Response>} send
 * @param {RetryOptions} [options]
 * @returns {Promise<Response>} the last response, whatever its status
 */
export async function fetchWithRetry (send, {
  retries = MAX_RETRIES,
  baseDelayMs = BASE_DELAY_MS,
  maxDelayMs = MAX_DELAY_MS,
  retryOn = (response) => isRetryable(response.status),
  sleep = delay,
  random = Math.random,
  now = Date.now
} = {}) {
  for (let attempt = 0; ; attempt++) {
    let response
    try {
      response = await send()
    } catch (error) {
      throw new ServiceError('network', `network error: ${error instanceof Error ? error.message : error}`)
    }
    if (attempt >= retries || !(await retryOn(response))) return response
    const asked = retryAfterMs(response.headers.get('Retry-After'), now())
    if (asked !== null && asked > maxDelayMs) return response
    await sleep(Math.max(asked ?? 0, random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt)))
  }
}

/**
 * Read a JSON body, or turn a failed response into a ServiceError.
 * @param {Response} response
 * @returns {Promise<any>}
 */
export async function jsonOrThrow (response) {
  const body = await response.json().catch(() => undefined)
  if (response.ok) return body
  const type = response.headers.get('x-amzn-ErrorType') ?? body?.__type ?? ''
  const message = body?.message ?? body?.Message ?? `HTTP ${response.status}`
  const kind = response.status === 429 || /Throttl/i.test(type)
    ? 'throttled'
    : response.status >= 500 ? 'service' : 'rejected'
  throw new ServiceError(kind, message, response.status, body)
}

/** @param {number} status */
export function isRetryable (status) {
  return status === 429 || status >= 500
}

/**
 * The wait a Retry-After header asks for (delay-seconds or an HTTP date), in ms; null when absent or unreadable.
 * @param {string | null} header
 * @param {number} now epoch ms
 * @returns {number | null}
 */
export function retryAfterMs (header, now) {
  if (header === null || header.trim() === '') return null
  const value = header.trim()
  if (/^\d+$/.test(value)) return Number(value) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? null : Math.max(0, date - now)
}

/** @param {number} ms */
function delay (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
