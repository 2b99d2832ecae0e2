//! Customer writes: creation from a lead, orders and payments. Money is integer cents.

use crate::args;
use crate::db::WriteConn;

use super::payload::{CustomerRef, Order, Payment};
use crate::changes::{Change, Totals};
use crate::db::ResultExt;
use crate::domain::money::Money;
use crate::domain::{time, EventContext, StoreError};
use crate::leads::payload::LeadConvertIn;

/// Generated codes read `CUST-000123` (the customer id, zero-padded).
pub fn generated_code(customer_id: i64) -> String {
    format!("CUST-{customer_id:06}")
}

pub async fn create_from_lead(
    conn: &mut WriteConn,
    lead_id: i64,
    input: LeadConvertIn,
    ctx: &EventContext,
) -> Result<(i64, String), StoreError> {
    let now = time::now();
    let given_code = input.customer_code.as_deref().map(str::trim).map(str::to_string);
    // A generated code needs the id, so the row is inserted under a unique placeholder first.
    let code = given_code.clone().unwrap_or_else(|| format!("pending-{}", uuid::Uuid::new_v4()));
    let row = conn
        .fetch_one(
            "insert into customers (customer_code, lead_id, first_name, last_name, email, phone, company_name, \
         last_name_lower, company_name_lower, credit_limit_cents, payment_terms, notes, raw_payload, created_at, \
         updated_at) \
         select $1, id, first_name, last_name, email, phone, company_name, last_name_lower, company_name_lower, \
         $2, $3, $4, $5, $6, $6 \
         from leads where id = $7 returning id",
            args![
                code.clone(),
                input.credit_limit.map(|m| m.cents()),
                input.payment_terms,
                input.notes,
                ctx.raw_payload.as_str(),
                now,
                lead_id
            ],
        )
        .await
        .on_unique_violation(|| match &given_code {
            Some(code) => format!("customer_code {code} is already in use"),
            None => format!("Lead {lead_id} was already converted"),
        })?;
    let customer_id: i64 = row.get(0)?;
    if given_code.is_some() {
        return Ok((customer_id, code));
    }
    let code = free_generated_code(conn, customer_id).await?;
    conn.execute("update customers set customer_code = $1 where id = $2", args![code.clone(), customer_id])
        .await
        .on_unique_violation(|| format!("customer_code {} is already in use", generated_code(customer_id)))?;
    Ok((customer_id, code))
}

/// `CUST-000123`, or `CUST-000123-2`, … when an integrator already chose that code by hand.
async fn free_generated_code(conn: &mut WriteConn, customer_id: i64) -> Result<String, StoreError> {
    let base = generated_code(customer_id);
    let mut candidate = base.clone();
    for suffix in 2.. {
        let taken =
            conn.fetch_optional("select id from customers where customer_code = $1", args![candidate.clone()]).await?;
        if taken.is_none() {
            break;
        }
        candidate = format!("{base}-{suffix}");
    }
    Ok(candidate)
}

/// Locks the customer row and returns its id; 404 when unknown.
async fn lock(conn: &mut WriteConn, customer: &CustomerRef) -> Result<i64, StoreError> {
    let now = time::now();
    let row = match customer {
        CustomerRef::Id(id) => {
            conn.fetch_optional("update customers set updated_at = $1 where id = $2 returning id", args![now, *id])
                .await?
        }
        CustomerRef::Code(code) => {
            conn.fetch_optional(
                "update customers set updated_at = $1 where customer_code = $2 returning id",
                args![now, code.clone()],
            )
            .await?
        }
    };
    let row = row.ok_or(StoreError::NotFound("Customer not found"))?;
    Ok(row.get(0)?)
}

async fn totals(conn: &mut WriteConn, customer_id: i64) -> Result<Totals, StoreError> {
    let row = conn.fetch_one("select total_orders, total_revenue_cents, total_paid_cents, outstanding_amount_cents from customers where id = $1", args![customer_id])
    .await?;
    Ok(Totals {
        customer_id,
        total_orders: row.get(0)?,
        total_revenue: Money::from_cents(row.get(1)?),
        total_paid: Money::from_cents(row.get(2)?),
        outstanding_amount: Money::from_cents(row.get(3)?),
    })
}

/// Adds the order to the customer's totals, unless its `order_id` was already recorded (then
/// nothing changes and the change says `counted: false`).
pub async fn record_order(conn: &mut WriteConn, input: Order, ctx: &EventContext) -> Result<Change, StoreError> {
    let customer_id = lock(conn, &input.customer).await?;
    let value = input.value;
    let now = time::now();
    let order_date = input.order_date.map(|d| d.0).unwrap_or_else(|| now.clone());
    let inserted = conn
        .fetch_optional(
            "insert into orders (customer_id, order_id, amount_cents, order_date, raw_payload, created_at) \
         values ($1, $2, $3, $4, $5, $6) on conflict (customer_id, order_id) do nothing returning id",
            args![
                customer_id,
                input.order_id.clone(),
                value.cents(),
                order_date.clone(),
                ctx.raw_payload.as_str(),
                now.clone()
            ],
        )
        .await?;
    if inserted.is_some() {
        conn.execute("update customers set total_orders = total_orders + 1, total_revenue_cents = total_revenue_cents + $1, \
             outstanding_amount_cents = outstanding_amount_cents + $1, \
             last_order_date = case when last_order_date is null or last_order_date < $2 then $2 else last_order_date end, \
             updated_at = $3 where id = $4", args![value.cents(), order_date, now, customer_id])
        .await?;
    }
    let totals = totals(conn, customer_id).await?;
    Ok(Change::OrderRecorded { order_id: input.order_id, counted: inserted.is_some(), totals })
}

/// Records the payment and lowers the outstanding amount, unless its `payment_id` was already
/// recorded (then nothing changes and the change says `counted: false`).
pub async fn record_payment(conn: &mut WriteConn, input: Payment, ctx: &EventContext) -> Result<Change, StoreError> {
    let customer_id = lock(conn, &input.customer).await?;
    let now = time::now();
    let payment_date = input.payment_date.map(|d| d.0).unwrap_or_else(|| now.clone());
    let inserted = conn
        .fetch_optional(
            "insert into payments (customer_id, payment_id, amount_cents, payment_date, raw_payload, created_at) \
         values ($1, $2, $3, $4, $5, $6) on conflict (customer_id, payment_id) do nothing returning id",
            args![
                customer_id,
                input.payment_id.clone(),
                input.amount.cents(),
                payment_date.clone(),
                ctx.raw_payload.as_str(),
                now.clone()
            ],
        )
        .await?;
    if inserted.is_some() {
        // The outstanding amount may go below zero: that is a prepayment (credit).
        conn.execute("update customers set total_paid_cents = total_paid_cents + $1, \
             outstanding_amount_cents = outstanding_amount_cents - $1, \
             last_payment_date = case when last_payment_date is null or last_payment_date < $2 then $2 else last_payment_date end, \
             updated_at = $3 where id = $4", args![input.amount.cents(), payment_date, now, customer_id])
        .await?;
    }
    let totals = totals(conn, customer_id).await?;
    Ok(Change::PaymentReceived { payment_id: input.payment_id, counted: inserted.is_some(), totals })
}
