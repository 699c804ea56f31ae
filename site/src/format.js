// @ts-check
// Pure: turns one bot message into blocks the view renders as <p>, <ol> and <ul>.
// Multi-step answers arrive as lines ("1. Open the sign-in page", "- our laptops"); see bot/definition.yaml.

/**
 * @typedef {{ type: 'p', text: string }} ParagraphBlock
 * @typedef {{ type: 'ol', start: number, items: string[] }} OrderedBlock
 * @typedef {{ type: 'ul', items: string[] }} BulletBlock
 * @typedef {ParagraphBlock | OrderedBlock | BulletBlock} Block
 */

const ORDERED_ITEM = /^(\d{1,3})[.)]\s+(.+)$/
const BULLET_ITEM = /^[-•*]\s+(.+)$/

/**
 * Split a message into paragraphs, ordered lists and bullet lists, one line at a time.
 * Consecutive list lines of the same kind form one list; blank lines only separate.
 * @param {string} text
 * @returns {Block[]}
 */
export function toBlocks (text) {
  /** @type {Block[]} */
  const blocks = []
  for (const rawLine of String(text).split(/\r?\n/)) {
    const line = rawLine.trim()
    if (line === '') continue
    const last = blocks[blocks.length - 1]
    const ordered = ORDERED_ITEM.exec(line)
    const bullet = BULLET_ITEM.exec(line)
    if (ordered) {
      if (last?.type === 'ol') last.items.push(ordered[2])
      else blocks.push({ type: 'ol', start: Number(ordered[1]), items: [ordered[2]] })
    } else if (bullet) {
      if (last?.type === 'ul') last.items.push(bullet[1])
      else blocks.push({ type: 'ul', items: [bullet[1]] })
    } else {
      blocks.push({ type: 'p', text: line })
    }
  }
  return blocks
}
