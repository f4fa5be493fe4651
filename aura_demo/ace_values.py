"""ACE picklist values used by the demo APN database.

Copied from the ``Opportunity_-_StandardValues.csv`` published with the ACE CRM integration samples
(aws-samples/partner-crm-integration-samples, MIT); only the picklists the demo fills are kept.
"""

from __future__ import annotations

STAGES: tuple[str, ...] = (
    "Prospect",
    "Qualified",
    "Technical Validation",
    "Business Validation",
    "Committed",
    "Launched",
    "Closed Lost",
)
STATUSES: tuple[str, ...] = (
    "Draft",
    "Submitted",
    "In review",
    "Approved",
    "Rejected",
    "Action Required",
)
OPPORTUNITY_TYPES: tuple[str, ...] = ("Net New Business", "Expansion", "Flat Renewal")
DELIVERY_MODELS: tuple[str, ...] = (
    "SaaS or PaaS",
    "BYOL or AMI",
    "Managed Services",
    "Professional Services",
    "Resell",
    "Other",
)
PRIMARY_NEEDS: tuple[str, ...] = (
    "Co-Sell - Architectural Validation",
    "Co-Sell - Business Presentation",
    "Co-Sell - Competitive Information",
    "Co-Sell - Pricing Assistance",
    "Co-Sell - Technical Consultation",
    "Co-Sell - Total Cost of Ownership Evaluation",
    "Co-Sell - Deal Support",
    "Co-Sell - Support for Public Tender / RFx",
)
NO_SUPPORT_NEEDED = "Do Not Need Support from AWS Sales Rep"
SALES_ACTIVITIES: tuple[str, ...] = (
    "Initialized discussions with customer",
    "Customer has shown interest in solution",
    "Conducted POC / Demo",
    "In evaluation / planning stage",
    "Agreed on solution to Business Problem",
    "Completed Action Plan",
    "Finalized Deployment Need",
    "SOW Signed",
)
COMPETITORS: tuple[str, ...] = (
    "On-Prem",
    "Co-location",
    "Microsoft Azure",
    "Google Cloud Platform",
    "Oracle Cloud",
    "No Competition",
    "Other- Cost Optimization",
)
CLOSED_LOST_REASONS: tuple[str, ...] = (
    "Customer Deficiency",
    "Delay / Cancellation of Project",
    "Lost to Competitor \u2013 Google",
    "Lost to Competitor \u2013 Microsoft",
    "No Opportunity",
    "On Premises Deployment",
    "Price",
    "Security / Compliance",
    "Technical Limitations",
    "Financial/Commercial",
)
CAMPAIGNS: tuple[str, ...] = (
    "Migration Acceleration Program",
    "ISV Workload Migration",
    "Well-Architected",
    "AWS Marketplace Campaign",
    "APN Immersion Days",
    "Partner Opportunity Acceleration Funded",
)
ENGAGEMENT_SCORES: tuple[str, ...] = ("Low", "Medium", "High")
