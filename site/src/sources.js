// @ts-check
// The sources under an answer from the knowledge base: which documents Lex's QnAIntent answered from, each a
// link to where the site serves it. Mirrors contracts/knowledge.py (intent name, attribute, DOCUMENTS_PATH,
// source_uris(), document_title()); tests/site and tests/local check the two agree.

export const KNOWLEDGE_INTENT_NAME = 'QnAIntent'
export const SOURCES_ATTRIBUTE = 'x-amz-lex:qnA-search-response-source'
export const DOCUMENTS_PATH = '/knowledge/'
export const MAX_SOURCES = 5 // store-query takes at most five; an answer cites one or two

/**
 * The document URIs QnAIntent answered this turn from (empty when another intent answered). Lex puts them in the
 * response's requestAttributes; a session attribute of that name (older bots) is read when there is none.
 * @param {{
 *   sessionState?: { intent?: { name?: string }, sessionAttributes?: Record<string, unknown> },
 *   requestAttributes?: Record<string, unknown>
 * }} response
 * @returns {string[]}
 */
export function answerSources (response) {
  const state = response.sessionState
  if (state?.intent?.name !== KNOWLEDGE_INTENT_NAME) return []
  const value = response.requestAttributes?.[SOURCES_ATTRIBUTE] ?? state.sessionAttributes?.[SOURCES_ATTRIBUTE]
  if (typeof value !== 'string') return []
  const uris = value.split(',').map((uri) => uri.trim()).filter((uri) => uri !== '')
  return [...new Set(uris)].slice(0, MAX_SOURCES)
}

/**
 * A readable title from a document's URI: `s3://b/guides/connect-to-the-VPN.pdf` -> "Connect to the VPN".
 * @param {string} uri
 */
export function documentTitle (uri) {
  const name = uri.replace(/\/+$/, '').split('/').pop() ?? ''
  const dot = name.lastIndexOf('.')
  const stem = (dot > 0 ? name.slice(0, dot) : name).replaceAll('-', ' ').replaceAll('_', ' ').trim()
  return stem ? stem[0].toUpperCase() + stem.slice(1) : uri
}

/**
 * Where the site serves the document: `s3://<any bucket>/<key>` -> /knowledge/<key>; null for anything else.
 * @param {string} uri
 * @returns {string | null}
 */
export function documentHref (uri) {
  const match = /^s3:\/\/[^/]+\/(.+)$/.exec(uri)
  if (!match) return null
  const segments = match[1].split('/')
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) return null
  return DOCUMENTS_PATH + segments.map(encodeURIComponent).join('/')
}

/**
 * The sources block under a bot answer: "Sources" and one link per document (its title; text, never markup).
 * @param {Document} doc
 * @param {string[]} uris
 * @returns {HTMLElement}
 */
export function sourcesNode (doc, uris) {
  const block = doc.createElement('nav')
  block.className = 'mt-1 border-t border-slate-200 pt-2 text-sm dark:border-slate-700'
  block.setAttribute('aria-label', 'Sources')
  const label = doc.createElement('p')
  label.className = 'text-xs font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-400'
  label.textContent = uris.length === 1 ? 'Source' : 'Sources'
  const list = doc.createElement('ul')
  list.className = 'mt-1 space-y-1'
  for (const uri of uris) {
    const item = doc.createElement('li')
    const href = documentHref(uri)
    if (href) {
      const link = doc.createElement('a')
      link.href = href
      link.target = '_blank'
      link.rel = 'noopener'
      link.className = 'link'
      link.textContent = documentTitle(uri)
      item.append(link)
    } else {
      item.textContent = documentTitle(uri)
    }
    list.append(item)
  }
  block.append(label, list)
  return block
}
