// @ts-check
// AWS Signature Version 4 for fetch requests, with crypto.subtle only (as mhart/aws4fetch does, in ~80 lines).
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html

/**
 * @typedef {{ accessKeyId: string, secretAccessKey: string, sessionToken: string, expiration: number }} Credentials
 *   expiration: epoch milliseconds
 * @typedef {{
 *   method: string,
 *   url: string,
 *   headers?: Record<string, string>,
 *   body?: string,
 *   credentials: Credentials,
 *   region: string,
 *   service: string,
 *   date?: Date
 * }} SignInput
 */

const ALGORITHM = 'AWS4-HMAC-SHA256'
const encoder = new TextEncoder()

/**
 * Headers to send with the request: the caller's plus X-Amz-Date, X-Amz-Security-Token and Authorization.
 * @param {SignInput} input
 * @returns {Promise<Record<string, string>>}
 */
export async function signRequest ({ method, url, headers = {}, body = '', credentials, region, service, date = new Date() }) {
  const amzDate = date.toISOString().replace(/[:-]|\.\d{3}/g, '')
  const day = amzDate.slice(0, 8)
  const target = new URL(url)
  /** @type {Record<string, string>} */
  const signed = {}
  for (const [name, value] of Object.entries(headers)) signed[name.toLowerCase()] = value.trim().replace(/\s+/g, ' ')
  signed.host = target.host
  signed['x-amz-date'] = amzDate
  signed['x-amz-security-token'] = credentials.sessionToken
  const names = Object.keys(signed).sort()
  const canonicalRequest = [
    method.toUpperCase(),
    canonicalPath(target.pathname),
    canonicalQuery(target.searchParams),
    names.map((name) => `${name}:${signed[name]}\n`).join(''),
    names.join(';'),
    await sha256Hex(body)
  ].join('\n')
  const scope = `${day}/${region}/${service}/aws4_request`
  const stringToSign = [ALGORITHM, amzDate, scope, await sha256Hex(canonicalRequest)].join('\n')
  /** @type {BufferSource} */
  let key = await hmac(encoder.encode(`AWS4${credentials.secretAccessKey}`), day)
  for (const part of [region, service, 'aws4_request']) key = await hmac(key, part)
  const signature = toHex(await hmac(key, stringToSign))
  return {
    ...headers,
    'X-Amz-Date': amzDate,
    'X-Amz-Security-Token': credentials.sessionToken,
    Authorization: `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`
  }
}

/**
 * RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone).
 * @param {string} text
 */
export function encodeRfc3986 (text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

/**
 * Every service but S3 wants each segment of the (already encoded) path encoded once more.
 * @param {string} path
 */
function canonicalPath (path) {
  return path.split('/').map((segment) => encodeRfc3986(decodeURIComponent(segment))).map(encodeRfc3986).join('/')
}

/** @param {URLSearchParams} params */
function canonicalQuery (params) {
  return [...params].map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`).sort().join('&')
}

/** @param {string} text */
async function sha256Hex (text) {
  return toHex(await crypto.subtle.digest('SHA-256', encoder.encode(text)))
}

/**
 * @param {BufferSource} key
 * @param {string} text
 */
async function hmac (key, text) {
  const cryptoKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(text))
}

/** @param {ArrayBuffer} buffer */
function toHex (buffer) {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('')
}
