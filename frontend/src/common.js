// Shared by the studio's viewer bundles: read a container's XML from its JSON data block, report
// what could not be drawn, and start once the page is parsed.
//
// Each container is `<div data-studio-viewer="bpmn|dmn" data-source="ID">`; the XML is the JSON
// string in `<script type="application/json" id="ID">` (data, never executed, so the CSP stays
// script-src 'self'). Element names are drawn by the viewers as SVG/DOM text, never as HTML.

export function readSource(container) {
  const block = document.getElementById(container.dataset.source || '');
  return block ? JSON.parse(block.textContent) : null;
}

export function showMessage(container, text) {
  const status = container.parentElement.querySelector('[data-viewer-status]');
  if (status) {
    status.textContent = text;
    status.hidden = false;
  }
  container.hidden = true;
}

// Calls draw(container, xml) for every container of this kind once the document is parsed.
export function drawAll(kind, draw) {
  const start = () => {
    document.querySelectorAll(`[data-studio-viewer="${kind}"]`).forEach((container) => {
      const xml = readSource(container);
      if (xml !== null) {
        draw(container, xml);
      }
    });
  };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}
