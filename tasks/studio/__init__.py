"""The process studio's domain: drafts of BPMN/DMN files on their way to a deploy (upload, edit, propose,
approve, reject, roll back), the catalogue of deployed versions, diffs and the impact preview."""
