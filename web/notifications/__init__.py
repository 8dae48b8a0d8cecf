"""The citizen's notifications in the portal: the list «Уведомления», the unread counter, and the
settings of the channels (phone, SMS consent). Notices are written by the operator
`notify.case_status` (tasks/cases/operators/certificates.py); this package only reads them and marks them read.
"""
