// The deploy validation's problems of the draft, listed under the modeler and marked on the diagram;
// a problem of the edited file links to its element (problems.js ties link and drawing together).
import { clearProblems, linkProblems } from '../problems.js';

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text;
  row.appendChild(td);
  return td;
}

function elementCell(row, problem, file, source) {
  const td = cell(row, '');
  if (!problem.element_id) {
    td.textContent = '—';
    return;
  }
  const code = document.createElement('code');
  code.textContent = problem.element_id;
  if (problem.file !== file) {
    td.appendChild(code);
    return;
  }
  const link = document.createElement('a');
  link.href = '#editor-canvas';
  link.dataset.problemElement = problem.element_id;
  link.dataset.problemSource = source;
  link.appendChild(code);
  td.appendChild(link);
}

export function showProblems(section, problems, { file, container, modeler }) {
  const summary = section.querySelector('[data-problems-summary]');
  const table = section.querySelector('table');
  const body = table.querySelector('tbody');
  body.textContent = '';
  problems.forEach((problem) => {
    const row = document.createElement('tr');
    cell(row, problem.file);
    elementCell(row, problem, file, container.dataset.source);
    cell(row, problem.element_name || '—');
    cell(row, problem.message);
    body.appendChild(row);
  });
  table.hidden = problems.length === 0;
  summary.textContent = problems.length
    ? `Черновик не пройдёт развёртывание: проблем — ${problems.length}.`
    : 'Проверка пройдена: черновик проходит все проверки развёртывания.';
  clearProblems(modeler);
  linkProblems(container, modeler);
}
