/** Text safe inside XML/HTML elements and double-quoted attributes. */
export function escapeXml(text: string): string {
  return (
    text
      // characters XML 1.0 forbids outright (control characters from a wire reply would break a parser)
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#39;')
  );
}
