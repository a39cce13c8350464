"""The function app: wiring only.

Functions live in blueprints, one per pattern and kind (orchestrators, activities,
entities, HTTP routes), so each file holds one job and can be read and tested on its own;
this module just registers them on the one `DFApp` the Functions host discovers.
"""

import azure.durable_functions as df
import azure.functions as func

import routes
import starters
from activities import approvals as approval_activities
from activities import blobs as blob_activities
from activities import jobs as job_activities
from activities import orders as order_activities
from activities import reports as report_activities
from entities import counter
from orchestrators import approval, blob_summary, job_monitor, order_processing, report

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

# Orchestrators
app.register_functions(order_processing.bp)
app.register_functions(blob_summary.bp)
app.register_functions(report.bp)
app.register_functions(job_monitor.bp)
app.register_functions(approval.bp)

# Activities
app.register_functions(order_activities.bp)
app.register_functions(blob_activities.bp)
app.register_functions(report_activities.bp)
app.register_functions(job_activities.bp)
app.register_functions(approval_activities.bp)

# Entities
app.register_functions(counter.bp)

# HTTP routes
app.register_functions(routes.bp)

# Starters from a queue and a timer
app.register_functions(starters.bp)
