//! `GET /api/v1/stats/pipeline`: the funnel pre-lead → lead → customer, read from the counts kept
//! by [`super::deltas`] (a few rows, however many records there are).

use std::collections::BTreeMap;

use serde::Serialize;

use super::deltas::{self, Counts};
use crate::db::{DbError, Fetch};
use crate::domain::money::Money;
use crate::domain::values::{LeadStatus, PreLeadStatus};

/// Pre-leads by status.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreLeadCounts {
    pub total: i64,
    /// Every status, with 0 where there is none (`converted` included).
    #[schema(value_type = Object)]
    pub by_status: BTreeMap<String, i64>,
    /// Pre-leads discarded (they keep their status).
    pub discarded: i64,
    /// Pre-leads converted to a lead.
    pub converted: i64,
}

/// Leads by status, and their expected value.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeadCounts {
    pub total: i64,
    /// Every status, with 0 where there is none.
    #[schema(value_type = Object)]
    pub by_status: BTreeMap<String, i64>,
    pub discarded: i64,
    /// Leads converted to a customer.
    pub converted: i64,
    /// Sum of `expected_value` over the leads not discarded whose status is neither `won` nor `lost`.
    #[schema(value_type = String, example = "12500.00")]
    pub open_value: Money,
    /// Sum of `expected_value` over the leads not discarded whose status is `won`.
    #[schema(value_type = String, example = "100000.00")]
    pub won_value: Money,
}

/// Customers and their totals.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerCounts {
    pub total: i64,
    /// Sum of every customer's `total_revenue` (orders counted).
    #[schema(value_type = String, example = "3000.00")]
    pub revenue: Money,
    /// Sum of every customer's `outstanding_amount`.
    #[schema(value_type = String, example = "2000.00")]
    pub outstanding: Money,
}

/// Conversion rates, fractions from 0 to 1 rounded to four places (0 when nothing is counted
/// below them). Discarded records count in every denominator.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Conversion {
    /// Pre-leads converted to a lead ÷ all pre-leads.
    pub pre_lead_to_lead: f64,
    /// Leads converted to a customer ÷ all leads (those created directly too).
    pub lead_to_customer: f64,
    /// Pre-leads whose lead became a customer ÷ all pre-leads.
    pub pre_lead_to_customer: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Pipeline {
    pub pre_leads: PreLeadCounts,
    pub leads: LeadCounts,
    pub customers: CustomerCounts,
    pub conversion: Conversion,
}

/// Sums of one kind of record.
#[derive(Default)]
struct Tally {
    total: i64,
    by_status: BTreeMap<String, i64>,
    discarded: i64,
    converted: i64,
}

impl Tally {
    fn new(statuses: &[&str]) -> Self {
        Tally { by_status: statuses.iter().map(|s| (s.to_string(), 0)).collect(), ..Tally::default() }
    }

    fn add(&mut self, status: &str, counts: &Counts) {
        self.total += counts.records;
        *self.by_status.entry(status.to_string()).or_insert(0) += counts.records;
        self.discarded += counts.discarded;
        self.converted += counts.converted;
    }
}

pub async fn pipeline(conn: &mut (impl Fetch + ?Sized)) -> Result<Pipeline, DbError> {
    let mut pre_lead_statuses = PreLeadStatus::ALLOWED.to_vec();
    pre_lead_statuses.push(PreLeadStatus::Converted.as_str());
    let mut pre_leads = Tally::new(&pre_lead_statuses);
    let mut leads = Tally::new(LeadStatus::ALLOWED);
    let mut customers = Counts::default();
    let (mut open_cents, mut won_cents, mut pre_lead_to_customer) = (0, 0, 0);
    for ((entity_type, status), counts) in deltas::totals(conn).await? {
        match entity_type.as_str() {
            "pre_lead" => pre_leads.add(&status, &counts),
            "lead" => {
                leads.add(&status, &counts);
                pre_lead_to_customer += counts.from_pre_lead;
                match status.as_str() {
                    "won" => won_cents += counts.value_cents,
                    "lost" => {}
                    _ => open_cents += counts.value_cents,
                }
            }
            _ => customers = counts,
        }
    }
    let conversion = Conversion {
        pre_lead_to_lead: rate(pre_leads.converted, pre_leads.total),
        lead_to_customer: rate(leads.converted, leads.total),
        pre_lead_to_customer: rate(pre_lead_to_customer, pre_leads.total),
    };
    Ok(Pipeline {
        pre_leads: PreLeadCounts {
            total: pre_leads.total,
            by_status: pre_leads.by_status,
            discarded: pre_leads.discarded,
            converted: pre_leads.converted,
        },
        leads: LeadCounts {
            total: leads.total,
            by_status: leads.by_status,
            discarded: leads.discarded,
            converted: leads.converted,
            open_value: Money::from_cents(open_cents),
            won_value: Money::from_cents(won_cents),
        },
        customers: CustomerCounts {
            total: customers.records,
            revenue: Money::from_cents(customers.value_cents),
            outstanding: Money::from_cents(customers.outstanding_cents),
        },
        conversion,
    })
}

/// `part ÷ whole`, rounded to four places; 0 when `whole` is 0.
pub fn rate(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        return 0.0;
    }
    ((part as f64 / whole as f64) * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_fractions_rounded_to_four_places() {
        assert_eq!(rate(1, 3), 0.3333);
        assert_eq!(rate(2, 3), 0.6667);
        assert_eq!(rate(5, 5), 1.0);
        assert_eq!(rate(0, 0), 0.0);
    }
}
