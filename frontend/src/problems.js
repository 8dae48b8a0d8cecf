// The draft page's problem list and its drawing, tied together: every element with a problem is
// marked on the diagram, and following a problem's link selects its element (bpmn-js's selection,
// the "selected" outline) and scrolls the canvas to it. Without JavaScript the link only leads to
// the drawing; the list itself already names the element id, name and reason.
//
// A link is `<a data-problem-element="ID" data-problem-source="SOURCE">`, SOURCE being the
// `data-source` of the container the element is drawn in.

const MARKER = 'studio-problem';

// Removes every problem mark, so a fresh validation (the modeler's, after each save) can mark anew.
export function clearProblems(viewer) {
  const canvas = viewer.get('canvas');
  viewer.get('elementRegistry').forEach((element) => canvas.removeMarker(element, MARKER));
}

export function linkProblems(container, viewer) {
  const source = container.dataset.source;
  const links = document.querySelectorAll(`a[data-problem-element][data-problem-source="${source}"]`);
  if (!links.length) {
    return;
  }
  const registry = viewer.get('elementRegistry');
  const canvas = viewer.get('canvas');
  const selection = viewer.get('selection');
  links.forEach((link) => {
    const element = registry.get(link.dataset.problemElement);
    if (!element || !element.parent) {
      return; // a process without a pool is the canvas itself: nothing to select
    }
    canvas.addMarker(element, MARKER);
    link.addEventListener('click', (event) => {
      event.preventDefault();
      container.scrollIntoView({ block: 'center' });
      canvas.scrollToElement(element);
      selection.select(element);
    });
  });
}
