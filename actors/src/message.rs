//! What an actor receives.
//!
//! Every actor has one message type (usually an enum) and one reply type. A message is
//! delivered either as a *tell* (fire and forget) or as an *ask* (the sender waits for
//! the handler's reply). Both are queued in the actor's bounded mailbox, in order.

/// Marker for types that can be sent to an actor: anything `Send + 'static`.
///
/// It is implemented for every such type, so you never implement it yourself.
///
/// ```
/// use airssys_wasm_actors::Message;
///
/// fn assert_message<M: Message>() {}
/// assert_message::<String>();
/// assert_message::<(u32, Vec<u8>)>();
/// ```
pub trait Message: Send + 'static {}

impl<T: Send + 'static> Message for T {}
