//! The few Spark Connect messages Steward sends and reads, with the field numbers of Spark 4's
//! protocol files (apache/spark, sql/connect/common/src/main/protobuf/spark/connect/base.proto,
//! relations.proto, expressions.proto; checked against the descriptors of PyPI's pyspark 4.3.0). Fields
//! Steward does not use are left out: protobuf readers skip unknown fields, so the server's other
//! responses (metrics, observed metrics, ...) decode to what is here.

/// `spark.connect.UserContext`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UserContext {
    #[prost(string, tag = "1")]
    pub user_id: String,
    #[prost(string, tag = "2")]
    pub user_name: String,
}

/// `spark.connect.ExecutePlanRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutePlanRequest {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(message, optional, tag = "2")]
    pub user_context: Option<UserContext>,
    #[prost(message, optional, tag = "3")]
    pub plan: Option<Plan>,
    #[prost(string, optional, tag = "4")]
    pub client_type: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub operation_id: Option<String>,
    #[prost(string, repeated, tag = "7")]
    pub tags: Vec<String>,
}

/// `spark.connect.Plan` (only `root`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Plan {
    #[prost(message, optional, tag = "1")]
    pub root: Option<Relation>,
}

/// `spark.connect.Relation` (only the `sql` relation).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Relation {
    #[prost(message, optional, tag = "10")]
    pub sql: Option<Sql>,
}

/// `spark.connect.SQL`: a query with positional parameters (`?`), bound by the server.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sql {
    #[prost(string, tag = "1")]
    pub query: String,
    #[prost(message, repeated, tag = "5")]
    pub pos_arguments: Vec<Expression>,
}

/// `spark.connect.Expression` (only a literal).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Expression {
    #[prost(message, optional, tag = "1")]
    pub literal: Option<Literal>,
}

/// `spark.connect.Expression.Literal` (the kinds Steward binds).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Literal {
    #[prost(oneof = "literal::Kind", tags = "3, 7, 11, 13")]
    pub kind: Option<literal::Kind>,
}

pub mod literal {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        #[prost(bool, tag = "3")]
        Boolean(bool),
        #[prost(int64, tag = "7")]
        Long(i64),
        #[prost(double, tag = "11")]
        Double(f64),
        #[prost(string, tag = "13")]
        String(String),
    }
}

/// `spark.connect.ExecutePlanResponse` (the Arrow batches and the end marker).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutePlanResponse {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(message, optional, tag = "2")]
    pub arrow_batch: Option<ArrowBatch>,
    #[prost(string, tag = "12")]
    pub operation_id: String,
    #[prost(message, optional, tag = "14")]
    pub result_complete: Option<ResultComplete>,
}

/// `spark.connect.ExecutePlanResponse.ArrowBatch`: Arrow IPC stream bytes (a schema and a batch).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ArrowBatch {
    #[prost(int64, tag = "1")]
    pub row_count: i64,
    #[prost(bytes = "vec", tag = "2")]
    pub data: Vec<u8>,
}

/// `spark.connect.ExecutePlanResponse.ResultComplete` (no fields).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResultComplete {}

/// `spark.connect.InterruptRequest` (interrupt_type ALL = 1: every operation of the session).
#[derive(Clone, PartialEq, prost::Message)]
pub struct InterruptRequest {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(message, optional, tag = "2")]
    pub user_context: Option<UserContext>,
    #[prost(string, optional, tag = "3")]
    pub client_type: Option<String>,
    #[prost(int32, tag = "4")]
    pub interrupt_type: i32,
}

/// `spark.connect.InterruptResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InterruptResponse {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(string, repeated, tag = "2")]
    pub interrupted_ids: Vec<String>,
}

/// `spark.connect.ReleaseSessionRequest`: ends the session on the server (its temporary state goes).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReleaseSessionRequest {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(message, optional, tag = "2")]
    pub user_context: Option<UserContext>,
    #[prost(string, optional, tag = "3")]
    pub client_type: Option<String>,
}

/// `spark.connect.ReleaseSessionResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReleaseSessionResponse {
    #[prost(string, tag = "1")]
    pub session_id: String,
}
