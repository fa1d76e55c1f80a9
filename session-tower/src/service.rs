//! [`SessionService`]: puts a [`Session`] in each request, then carries out the end-of-request
//! [plan](crate::plan).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::SET_COOKIE;
use http::{Request, Response, StatusCode};
use session_core::now_ms;
use tower_service::Service;

use crate::cookie::{self, Incoming};
use crate::error::status_for;
use crate::shared::Shared;
use crate::{Session, SessionMetrics};
use crate::{hooks, plan};

/// The [`Service`] a [`SessionLayer`](crate::SessionLayer) wraps around an inner service.
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> SessionService<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        SessionService { inner, shared }
    }

    /// Counters shared with the layer that built this service.
    pub fn metrics(&self) -> &SessionMetrics {
        &self.shared.metrics
    }
}

impl<S: fmt::Debug> fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("inner", &self.inner)
            .field("store", &self.shared.store)
            .field("config", &self.shared.config)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    // Boxed: committing awaits the store after the inner future, and a hand-written state
    // machine over a boxed store future would box anyway.
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let incoming = cookie::read(req.headers(), &shared.config);
        if matches!(incoming, Incoming::Invalid) {
            shared.metrics.rejected_cookie();
        }
        let session = Session::new(Arc::clone(&shared), incoming);
        req.extensions_mut().insert(session.clone());
        // The clone that was polled ready serves this request; the fresh clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let mut response = inner.call(req).await?;
            let mut state = session.state().await;
            let now = now_ms();
            state.keep_lifetime(&shared.config, now);
            let plan = match plan::plan(&state, &shared.config, now) {
                Ok(plan) => plan,
                // Already logged where the load failed.
                Err(status) => return Ok(error_response(status)),
            };
            match plan::apply(&plan, &*shared.store, &shared.config, now).await {
                Ok(cookies) => {
                    hooks::after_save(&shared, &state, &plan, !cookies.is_empty());
                    for cookie in cookies {
                        response.headers_mut().append(SET_COOKIE, cookie);
                    }
                }
                Err(e) => {
                    shared.metrics.store_error();
                    let status = status_for(&e);
                    tracing::error!(
                        error = %session_core::error_chain(&e),
                        status = status.as_u16(),
                        "session store failed while saving a session"
                    );
                    return Ok(error_response(status));
                }
            }
            Ok(response)
        })
    }
}

fn error_response<B: Default>(status: StatusCode) -> Response<B> {
    let mut response = Response::new(B::default());
    *response.status_mut() = status;
    response
}
