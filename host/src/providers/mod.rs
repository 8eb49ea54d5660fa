//! LLM providers: provider plugins called with retries and pacing, the HTTP client they send
//! through, and the `llm` broker that lets evaluator plugins (LLM judges) use them.
//!
//! Every chat completion — from the playground, a prompt task or a judge — goes through
//! [`Providers::chat`], so the same concurrency gate, rate gate and retry policy apply to all of
//! a provider's traffic.

pub mod prompt;
mod retry;
mod span;
mod transport;
pub mod wire;

use std::time::{Duration, Instant};

use ember_sandbox::{ChatError, ChatResponse, LlmBroker, LlmCaller, SandboxError, World};

/// What a chat completion is asked with: the provider world's request.
pub use ember_sandbox::ChatRequest;
pub use retry::{Pacing, RetryPolicy};
pub use span::{record_call, CallRecord};
pub use transport::HttpTransport;

use crate::plugins::{PluginHost, ResolvedPlugin};

/// Why a chat completion failed, after any retries.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    #[error("no enabled provider plugin named {0:?} is installed")]
    NotFound(String),
    #[error("plugin {name:?} is a {world} plugin, not a provider")]
    NotProvider { name: String, world: &'static str },
    #[error("the provider refused the request: {0}")]
    InvalidRequest(String),
    #[error("the provider is still rate limiting after {attempts} attempts")]
    RateLimited { attempts: u32 },
    #[error("the provider is unavailable after {attempts} attempts: {message}")]
    Unavailable { attempts: u32, message: String },
    #[error("the provider call failed: {0}")]
    Failed(String),
    #[error("the provider plugin failed: {0}")]
    Sandbox(SandboxError),
    #[error("gave up waiting: the caller's deadline passed")]
    Deadline,
}

impl ProviderError {
    /// A short machine-readable name, for metrics and stored errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound(_) | Self::NotProvider { .. } => "provider_missing",
            Self::InvalidRequest(_) => "invalid_request",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable { .. } => "unavailable",
            Self::Failed(_) => "failed",
            Self::Sandbox(err) => err.kind(),
            Self::Deadline => "deadline",
        }
    }

    /// As the `chat-error` a judge sees.
    fn into_chat_error(self) -> ChatError {
        match self {
            Self::InvalidRequest(message) => ChatError::InvalidRequest(message),
            Self::RateLimited { .. } => ChatError::RateLimited(None),
            Self::Unavailable { .. } | Self::Deadline => ChatError::Unavailable(self.to_string()),
            other => ChatError::Failed(other.to_string()),
        }
    }
}

/// A finished chat completion: the answer or why not, and what it took.
#[derive(Debug, Clone)]
pub struct ChatOutcome {
    pub result: Result<ChatResponse, ProviderError>,
    /// Attempts made, the successful one included.
    pub attempts: u32,
    pub started_ns: i64,
    pub elapsed: Duration,
    /// The provider plugin's registry identity, when it was found.
    pub provider: Option<(String, String)>,
}

/// Provider plugins with pacing and retries.
#[derive(Debug, Clone)]
pub struct Providers {
    plugins: PluginHost,
    pacing: Pacing,
    policy: RetryPolicy,
}

/// Longest a chat completion may take, retries included, when the caller sets no deadline.
const DEFAULT_BUDGET: Duration = Duration::from_secs(300);

impl Providers {
    /// Providers from `plugins`, paced by `pacing`, retried by `policy` unless a caller says otherwise.
    pub fn new(plugins: PluginHost, pacing: Pacing, policy: RetryPolicy) -> Self {
        Self { plugins, pacing, policy }
    }

    /// The default retry policy.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The provider plugin `name` (or `name@version`).
    pub fn resolve(&self, name: &str) -> Result<ResolvedPlugin, ProviderError> {
        let resolved = self.plugins.resolve(name).ok_or_else(|| ProviderError::NotFound(name.to_owned()))?;
        if resolved.plugin.world() != World::Provider {
            return Err(ProviderError::NotProvider { name: name.to_owned(), world: resolved.plugin.world().as_str() });
        }
        Ok(resolved)
    }

    /// Runs one chat completion through `provider`, retrying rate limits and unavailability.
    /// Blocks: call it on the blocking pool.
    pub fn chat_blocking(
        &self,
        provider: &str,
        request: &ChatRequest,
        policy: RetryPolicy,
        deadline: Option<Instant>,
    ) -> ChatOutcome {
        let started_ns = crate::time::now_ns();
        let started = Instant::now();
        let deadline = deadline.unwrap_or(started + DEFAULT_BUDGET);
        let mut outcome = ChatOutcome {
            result: Err(ProviderError::Deadline),
            attempts: 0,
            started_ns,
            elapsed: Duration::ZERO,
            provider: None,
        };
        let resolved = match self.resolve(provider) {
            Ok(resolved) => resolved,
            Err(err) => {
                outcome.result = Err(err);
                return outcome;
            }
        };
        outcome.provider = Some((resolved.name.clone(), resolved.version.clone()));
        let _span = tracing::info_span!("provider_chat", provider = %resolved.name, model = %request.model).entered();
        let gates = self.pacing.gates(&resolved.name);
        let max_attempts = policy.max_attempts.max(1);
        outcome.result = loop {
            let Some(slot) = gates.enter(deadline) else { break Err(ProviderError::Deadline) };
            outcome.attempts += 1;
            // A caller's deadline bounds the attempt itself too, not only the waits between.
            let left = deadline.saturating_duration_since(Instant::now());
            let plugin = if left < resolved.plugin.limits().deadline {
                let mut limits = resolved.plugin.limits().clone();
                limits.deadline = left;
                resolved.plugin.with_limits(limits)
            } else {
                resolved.plugin.clone()
            };
            let report = plugin.chat(request);
            drop(slot);
            let kind = match &report.outcome {
                Ok(Ok(_)) => "ok",
                Ok(Err(_)) => "provider_error",
                Err(err) => err.kind(),
            };
            self.plugins.record_call(&resolved.name, kind, report.instructions, report.elapsed);
            let (retry_after, error) = match report.outcome {
                Ok(Ok(response)) => break Ok(response),
                Ok(Err(ChatError::RateLimited(after))) => (
                    after.map(|ms| Duration::from_millis(u64::from(ms))),
                    ProviderError::RateLimited { attempts: outcome.attempts },
                ),
                Ok(Err(ChatError::Unavailable(message))) => {
                    (None, ProviderError::Unavailable { attempts: outcome.attempts, message })
                }
                Err(SandboxError::Busy(message)) => {
                    (None, ProviderError::Unavailable { attempts: outcome.attempts, message })
                }
                Ok(Err(ChatError::InvalidRequest(message))) => break Err(ProviderError::InvalidRequest(message)),
                Ok(Err(ChatError::Failed(message))) => break Err(ProviderError::Failed(message)),
                Err(err) => break Err(ProviderError::Sandbox(err)),
            };
            if outcome.attempts >= max_attempts {
                break Err(error);
            }
            let wait = policy.backoff(outcome.attempts, retry_after);
            if Instant::now() + wait >= deadline {
                break Err(error);
            }
            tracing::debug!(attempt = outcome.attempts, wait_ms = wait.as_millis() as u64, error = %error, "provider call retried");
            std::thread::sleep(wait);
        };
        outcome.elapsed = started.elapsed();
        outcome
    }

    /// [`Providers::chat_blocking`] on the blocking pool.
    pub async fn chat(&self, provider: String, request: ChatRequest, policy: RetryPolicy) -> ChatOutcome {
        let providers = self.clone();
        let started_ns = crate::time::now_ns();
        tokio::task::spawn_blocking(move || providers.chat_blocking(&provider, &request, policy, None))
            .await
            .unwrap_or_else(|_| ChatOutcome {
                result: Err(ProviderError::Failed("the provider call panicked".into())),
                attempts: 1,
                started_ns,
                elapsed: Duration::ZERO,
                provider: None,
            })
    }

    /// The provider's models.
    pub async fn models(&self, provider: &str) -> Result<Vec<String>, ProviderError> {
        let resolved = self.resolve(provider)?;
        let report = tokio::task::spawn_blocking(move || resolved.plugin.models())
            .await
            .map_err(|_| ProviderError::Failed("the provider call panicked".into()))?;
        match report.outcome {
            Ok(Ok(models)) => Ok(models),
            Ok(Err(ChatError::InvalidRequest(message))) => Err(ProviderError::InvalidRequest(message)),
            Ok(Err(ChatError::RateLimited(_))) => Err(ProviderError::RateLimited { attempts: 1 }),
            Ok(Err(ChatError::Unavailable(message))) => Err(ProviderError::Unavailable { attempts: 1, message }),
            Ok(Err(ChatError::Failed(message))) => Err(ProviderError::Failed(message)),
            Err(err) => Err(ProviderError::Sandbox(err)),
        }
    }
}

/// Serves evaluators' `llm` import through [`Providers`]; the provider defaults to the
/// evaluator's configured `provider`.
#[derive(Debug, Clone)]
pub struct Broker(pub Providers);

impl LlmBroker for Broker {
    fn complete(
        &self,
        provider: Option<&str>,
        request: ChatRequest,
        caller: &LlmCaller<'_>,
    ) -> Result<ChatResponse, ChatError> {
        let configured = serde_json::from_str::<serde_json::Value>(caller.config)
            .ok()
            .and_then(|config| config.get("provider").and_then(|p| p.as_str()).map(str::to_owned));
        let Some(provider) = provider.map(str::to_owned).or(configured) else {
            return Err(ChatError::InvalidRequest("no provider named, and none configured for this evaluator".into()));
        };
        // Leave the evaluator a moment to use the answer before its own deadline.
        let deadline = caller.deadline.checked_sub(Duration::from_millis(50)).unwrap_or(caller.deadline);
        let outcome = self.0.chat_blocking(&provider, &request, self.0.policy, Some(deadline));
        outcome.result.map_err(ProviderError::into_chat_error)
    }
}
