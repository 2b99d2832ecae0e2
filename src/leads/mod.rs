//! Leads: qualified prospects in the sales pipeline. What their webhooks accept (`payload`) and
//! how they are written (`store`); their routes are built by `webhook/` from the event table.

pub mod payload;
pub mod store;
