// @ts-check
// Staff sign-in: the Cognito user pool's hosted UI, OAuth 2.0 authorization code with PKCE (S256). Tokens live in
// sessionStorage (gone when the tab closes); the ID token is what API Gateway's Cognito authorizer checks.

export const KEYS = Object.freeze({
  TOKENS: 'admin.tokens',
  PENDING: 'admin.pending-sign-in' // {state, verifier} between leaving for the hosted UI and coming back
})
const EXPIRY_MARGIN_MS = 60_000 // a token this close to expiry is treated as expired

/** @typedef {{ domain: string, clientId: string }} StaffSignInConfig */
/** @typedef {{ idToken: string, expiresAt: number, email: string }} Tokens */

/**
 * The `staffSignIn` key of config.js, checked; null when the deployment configures none.
 * @param {unknown} raw window.CHATBOT_CONFIG
 * @returns {StaffSignInConfig | null}
 */
export function readSignInConfig (raw) {
  const value = /** @type {any} */ (raw)?.staffSignIn
  if (!value || typeof value.domain !== 'string' || typeof value.clientId !== 'string' || !value.clientId) return null
  const domain = /^https?:\/\//.test(value.domain) ? value.domain : `https://${value.domain}`
  try {
    return { domain: new URL(domain).origin, clientId: value.clientId }
  } catch {
    return null
  }
}

/** Where the hosted UI sends staff back: this page. */
export function redirectUri () {
  return `${window.location.origin}/admin/`
}

/**
 * Leave for the hosted UI (after remembering the PKCE verifier and state for the way back).
 * @param {StaffSignInConfig} config
 * @param {Storage} storage sessionStorage
 */
export async function beginSignIn (config, storage) {
  const verifier = randomText(48)
  const state = randomText(24)
  storage.setItem(KEYS.PENDING, JSON.stringify({ verifier, state }))
  const challenge = base64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))))
  const url = new URL('/oauth2/authorize', config.domain)
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: 'openid email',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256'
  }).toString()
  window.location.assign(url.toString())
}

/**
 * On the way back from the hosted UI (`?code=...&state=...`): exchange the code for tokens and store them.
 * Returns null when the URL carries no code.
 * @param {StaffSignInConfig} config
 * @param {Storage} storage sessionStorage
 * @param {URL} location
 * @param {typeof fetch} [fetcher]
 * @returns {Promise<Tokens | null>}
 */
export async function completeSignIn (config, storage, location, fetcher = fetch) {
  const code = location.searchParams.get('code')
  const error = location.searchParams.get('error')
  if (error) throw new Error(`Sign-in failed: ${location.searchParams.get('error_description') || error}`)
  if (!code) return null
  const pending = JSON.parse(storage.getItem(KEYS.PENDING) || 'null')
  storage.removeItem(KEYS.PENDING)
  if (!pending || pending.state !== location.searchParams.get('state')) {
    throw new Error('Sign-in failed: this answer does not belong to a sign-in started here. Sign in again.')
  }
  const response = await fetcher(new URL('/oauth2/token', config.domain).toString(), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: config.clientId,
      code,
      redirect_uri: redirectUri(),
      code_verifier: pending.verifier
    }).toString()
  })
  if (!response.ok) throw new Error(`Sign-in failed (${response.status}). Sign in again.`)
  const answer = await response.json()
  const claims = jwtClaims(answer.id_token)
  /** @type {Tokens} */
  const tokens = {
    idToken: answer.id_token,
    expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : Date.now() + answer.expires_in * 1000,
    email: typeof claims.email === 'string' ? claims.email : ''
  }
  storage.setItem(KEYS.TOKENS, JSON.stringify(tokens))
  return tokens
}

/**
 * The stored tokens while they are valid; null otherwise (and expired ones are removed).
 * @param {Storage} storage
 * @param {number} [now]
 * @returns {Tokens | null}
 */
export function currentTokens (storage, now = Date.now()) {
  try {
    const tokens = JSON.parse(storage.getItem(KEYS.TOKENS) || 'null')
    if (tokens && typeof tokens.idToken === 'string' && tokens.expiresAt - EXPIRY_MARGIN_MS > now) return tokens
  } catch {}
  storage.removeItem(KEYS.TOKENS)
  return null
}

/** @param {Storage} storage */
export function signOut (storage) {
  storage.removeItem(KEYS.TOKENS)
  storage.removeItem(KEYS.PENDING)
}

/**
 * The claims of a JWT (not verified: the API's authorizer verifies; the page only reads the email and expiry).
 * @param {unknown} token
 * @returns {Record<string, unknown>}
 */
export function jwtClaims (token) {
  if (typeof token !== 'string') throw new Error('Sign-in failed: no ID token came back.')
  const payload = token.split('.')[1] || ''
  const text = atob(payload.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (payload.length % 4)) % 4))
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(text, (c) => c.charCodeAt(0))))
}

/** @param {number} bytes */
function randomText (bytes) {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)))
}

/** @param {Uint8Array} bytes */
function base64Url (bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
