// @ts-check
// The page's branding from config.js (contracts/branding.py checks it at `pulumi preview`): the assistant's name in
// the title and header, the subtitle, the welcome text, the logo and the privacy notice link. A key left out keeps
// the page's own words; a value of the wrong shape is ignored with a console warning, never fatal. The accent
// colour is theme-init.js's (before first paint) and styles.css's.

/**
 * @typedef {{
 *   name: string | null,
 *   subtitle: string | null,
 *   welcomeText: string | null,
 *   logoUrl: string | null,
 *   privacyNoticeUrl: string | null
 * }} Branding
 */

const TEXT_KEYS = /** @type {const} */ ({ name: 'botName', subtitle: 'botSubtitle', welcomeText: 'welcomeText' })
const LOGO_DATA_URL = /^data:image\/(png|webp|gif|jpeg|svg\+xml);base64,[A-Za-z0-9+/]+={0,2}$/

/**
 * The branding keys of `window.CHATBOT_CONFIG`, each checked; null where the page keeps its own.
 * @param {Record<string, unknown>} config
 * @returns {Branding}
 */
export function readBranding (config) {
  /** @type {Branding} */
  const branding = { name: null, subtitle: null, welcomeText: null, logoUrl: null, privacyNoticeUrl: null }
  for (const [field, key] of Object.entries(TEXT_KEYS)) {
    const value = config[key]
    if (value === undefined) continue
    if (typeof value === 'string' && value.trim()) branding[/** @type {keyof typeof TEXT_KEYS} */ (field)] = value.trim()
    else _ignored(key, 'a non-empty string')
  }
  if (config.logoUrl !== undefined) {
    const logo = config.logoUrl
    if (typeof logo === 'string' && (_isSameOrigin(logo) || LOGO_DATA_URL.test(logo))) branding.logoUrl = logo
    else _ignored('logoUrl', 'a path or URL on this origin, or a data:image URL')
  }
  if (config.privacyNoticeUrl !== undefined) {
    const link = config.privacyNoticeUrl
    if (typeof link === 'string' && (_isSameOrigin(link) || _isHttps(link))) branding.privacyNoticeUrl = link
    else _ignored('privacyNoticeUrl', 'an https URL or a path on this origin')
  }
  return branding
}

/**
 * Name, subtitle and logo in the header, and the name in the title. Text goes in as text, never as HTML.
 * @param {Document} doc
 * @param {Branding} branding
 */
export function applyBranding (doc, branding) {
  if (branding.name) {
    doc.title = branding.name
    const heading = doc.getElementById('bot-name')
    if (heading) heading.textContent = branding.name
  }
  const subtitle = doc.getElementById('subtitle')
  if (branding.subtitle && subtitle) subtitle.textContent = branding.subtitle
  const mark = doc.getElementById('brand-mark')
  if (branding.logoUrl && mark) {
    const logo = doc.createElement('img')
    logo.src = branding.logoUrl
    logo.alt = '' // the heading names the assistant; the logo beside it is decoration
    logo.className = 'size-full object-cover'
    mark.classList.remove('bg-linear-to-br')
    mark.classList.add('bg-white')
    mark.replaceChildren(logo)
  }
}

/** @param {string} value */
function _isSameOrigin (value) {
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\')) {
    try {
      return new URL(value).origin === window.location.origin
    } catch {
      return false
    }
  }
  return true
}

/** @param {string} value */
function _isHttps (value) {
  try {
    return new URL(value).protocol === 'https:'
  } catch {
    return false
  }
}

/**
 * @param {string} key
 * @param {string} expected
 */
function _ignored (key, expected) {
  console.warn('[chatbot] config.js: %s is not %s; the page keeps its own', key, expected)
}
