//! Customer writes: creation from a lead, orders and payments. Money is integer cents.

use sqlx::AnyConnection;
use sqlx::Row;

use super::payload::{CustomerRef, OrderIn, PaymentIn};
use crate::domain::money::Money;
use crate::domain::time;
use crate::http::error::{AppError, ResultExt};
use crate::leads::payload::LeadConvertIn;
use crate::webhook::EventContext;

/// The customer's running totals after an order or payment.
pub struct Totals {
    pub customer_id: i64,
    pub total_orders: i64,
    pub total_revenue: Money,
    pub total_paid: Money,
    pub outstanding_amount: Money,
}

/// Generated codes read `CUST-000123` (the customer id, zero-padded).
pub fn generated_code(customer_id: i64) -> String {
    format!("CUST-{customer_id:06}")
}

pub async fn create_from_lead(
    conn: &mut AnyConnection,
    lead_id: i64,
    input: LeadConvertIn,
    ctx: &EventContext,
) -> Result<(i64, String), AppError> {
    let now = time::now();
    let given_code = input.customer_code.as_deref().map(str::trim).map(str::to_string);
    // A generated code needs the id, so the row is inserted under a unique placeholder first.
    let code = given_code.clone().unwrap_or_else(|| format!("pending-{}", uuid::Uuid::new_v4()));
    let row = sqlx::query(
        "insert into customers (customer_code, lead_id, first_name, last_name, email, phone, company_name, \
         credit_limit_cents, payment_terms, notes, raw_payload, created_at, updated_at) \
         select $1, id, first_name, last_name, email, phone, company_name, $2, $3, $4, $5, $6, $6 \
         from leads where id = $7 returning id",
    )
    .bind(code.clone())
    .bind(input.credit_limit.map(|m| m.cents()))
    .bind(input.payment_terms)
    .bind(input.notes)
    .bind(ctx.raw_payload.as_str())
    .bind(now)
    .bind(lead_id)
    .fetch_one(&mut *conn)
    .await
    .on_unique_violation(|| match &given_code {
        Some(code) => format!("customer_code {code} is already in use"),
        None => format!("Lead {lead_id} was already converted"),
    })?;
    let customer_id: i64 = row.try_get(0)?;
    if given_code.is_some() {
        return Ok((customer_id, code));
    }
    let code = free_generated_code(conn, customer_id).await?;
    sqlx::query("update customers set customer_code = $1 where id = $2")
        .bind(code.clone())
        .bind(customer_id)
        .execute(&mut *conn)
        .await
        .on_unique_violation(|| format!("customer_code {} is already in use", generated_code(customer_id)))?;
    Ok((customer_id, code))
}

/// `CUST-000123`, or `CUST-000123-2`, … when an integrator already chose that code by hand.
async fn free_generated_code(conn: &mut AnyConnection, customer_id: i64) -> Result<String, AppError> {
    let base = generated_code(customer_id);
    let mut candidate = base.clone();
    for suffix in 2.. {
        let taken = sqlx::query("select id from customers where customer_code = $1")
            .bind(candidate.clone())
            .fetch_optional(&mut *conn)
            .await?;
        if taken.is_none() {
            break;
        }
        candidate = format!("{base}-{suffix}");
    }
    Ok(candidate)
}

/// Locks the customer row and returns its id; 404 when unknown.
async fn lock(conn: &mut AnyConnection, customer: &CustomerRef) -> Result<i64, AppError> {
    let now = time::now();
    let row = match customer {
        CustomerRef::Id(id) => {
            sqlx::query("update customers set updated_at = $1 where id = $2 returning id")
                .bind(now)
                .bind(*id)
                .fetch_optional(&mut *conn)
                .await?
        }
        CustomerRef::Code(code) => {
            sqlx::query("update customers set updated_at = $1 where customer_code = $2 returning id")
                .bind(now)
                .bind(code.clone())
                .fetch_optional(&mut *conn)
                .await?
        }
    };
    let row = row.ok_or(AppError::NotFound("Customer not found"))?;
    Ok(row.try_get(0)?)
}

async fn totals(conn: &mut AnyConnection, customer_id: i64) -> Result<Totals, AppError> {
    let row = sqlx::query(
        "select total_orders, total_revenue_cents, total_paid_cents, outstanding_amount_cents from customers where id = $1",
    )
    .bind(customer_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Totals {
        customer_id,
        total_orders: row.try_get(0)?,
        total_revenue: Money::from_cents(row.try_get(1)?),
        total_paid: Money::from_cents(row.try_get(2)?),
        outstanding_amount: Money::from_cents(row.try_get(3)?),
    })
}

/// Returns the totals and whether this order was new (false: already recorded, not counted).
pub async fn record_order(
    conn: &mut AnyConnection,
    input: OrderIn,
    ctx: &EventContext,
) -> Result<(Totals, bool), AppError> {
    let customer_id = lock(conn, &input.customer()?).await?;
    let value = input.value()?;
    let now = time::now();
    let order_date = input.order_date.map(|d| d.0).unwrap_or_else(|| now.clone());
    let inserted = sqlx::query(
        "insert into orders (customer_id, order_id, amount_cents, order_date, raw_payload, created_at) \
         values ($1, $2, $3, $4, $5, $6) on conflict (customer_id, order_id) do nothing returning id",
    )
    .bind(customer_id)
    .bind(input.order_id.0.clone())
    .bind(value.cents())
    .bind(order_date.clone())
    .bind(ctx.raw_payload.as_str())
    .bind(now.clone())
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_some() {
        sqlx::query(
            "update customers set total_orders = total_orders + 1, total_revenue_cents = total_revenue_cents + $1, \
             outstanding_amount_cents = outstanding_amount_cents + $1, \
             last_order_date = case when last_order_date is null or last_order_date < $2 then $2 else last_order_date end, \
             updated_at = $3 where id = $4",
        )
        .bind(value.cents())
        .bind(order_date)
        .bind(now)
        .bind(customer_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok((totals(conn, customer_id).await?, inserted.is_some()))
}

/// Returns the totals and whether this payment was new (false: already recorded, not counted).
pub async fn record_payment(
    conn: &mut AnyConnection,
    input: PaymentIn,
    ctx: &EventContext,
) -> Result<(Totals, bool), AppError> {
    let customer_id = lock(conn, &input.customer()?).await?;
    let now = time::now();
    let payment_date = input.payment_date.map(|d| d.0).unwrap_or_else(|| now.clone());
    let inserted = sqlx::query(
        "insert into payments (customer_id, payment_id, amount_cents, payment_date, raw_payload, created_at) \
         values ($1, $2, $3, $4, $5, $6) on conflict (customer_id, payment_id) do nothing returning id",
    )
    .bind(customer_id)
    .bind(input.payment_id.0.clone())
    .bind(input.amount.cents())
    .bind(payment_date.clone())
    .bind(ctx.raw_payload.as_str())
    .bind(now.clone())
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_some() {
        // The outstanding amount may go below zero: that is a prepayment (credit).
        sqlx::query(
            "update customers set total_paid_cents = total_paid_cents + $1, \
             outstanding_amount_cents = outstanding_amount_cents - $1, \
             last_payment_date = case when last_payment_date is null or last_payment_date < $2 then $2 else last_payment_date end, \
             updated_at = $3 where id = $4",
        )
        .bind(input.amount.cents())
        .bind(payment_date)
        .bind(now)
        .bind(customer_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok((totals(conn, customer_id).await?, inserted.is_some()))
}
