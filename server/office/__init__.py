"""Office staff pages: intake, dashboard, custody timelines, exceptions, handover reports, exports."""
