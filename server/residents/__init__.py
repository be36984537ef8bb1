"""Residents' page: status, timeline, receipt code, confirmation and complaints, by unguessable link."""
