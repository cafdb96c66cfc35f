"""HTTP endpoints of community: customer routes (/api/v1/shops/{shop}/...) and console routes.

Posts are viewed with ``GET posts/{id}``; the client then records the view with ``POST visits {share_code}``
(fission's endpoint), which is what attributes later orders to the post and its author.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from liebian.community import communities, guard, posts, rules, topics
from liebian.community.schemas import (
    AnnouncementIn,
    AnnouncementOut,
    BanIn,
    BanOut,
    CommentIn,
    CommentOut,
    CommunityIn,
    CommunityOut,
    CommunityRedPacketIn,
    ConsoleCommentPage,
    ConsolePostOut,
    ConsolePostPage,
    ConsoleReportOut,
    JoinIn,
    LikeOut,
    MemberOut,
    MemberPage,
    PostIn,
    PostOut,
    PostPage,
    ReplyIn,
    ReplyOut,
    ReportIn,
    ReportOut,
    RoleIn,
    TopicDetail,
    TopicIn,
    TopicOut,
    TopicPage,
)
from liebian.coupons import redpackets
from liebian.coupons.schemas import RedPacketOut
from liebian.fission import images as share_images
from liebian.kit.errors import Forbidden
from liebian.kit.web import MAX_ID, DbSession, IdPath, Limit, Offset, OptionalCustomerClaims
from liebian.shops.deps import ConsoleShop, CurrentShop, ShopCustomer
from liebian.shops.service import ShopRef, shop_customer

router = APIRouter(prefix="/api/v1/shops/{shop}", tags=["customer: community"])
console = APIRouter(prefix="/api/v1/console", tags=["console: community"])
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
InviteCode = Annotated[str, Path(min_length=1, max_length=16)]


def _viewer(shop: ShopRef, claims: OptionalCustomerClaims) -> int | None:
    return None if claims is None else shop_customer(shop, claims).subject_id


def _base(request: Request) -> str:
    return str(request.app.state.settings.public_base_url)


# --- posts -------------------------------------------------------------------------------------------------

@router.get("/posts", response_model=PostPage)
async def feed(shop: CurrentShop, session: DbSession, claims: OptionalCustomerClaims, product_id: OptionalId = None,
               author_id: OptionalId = None, author_type: Literal["shop", "promoter"] | None = None,
               before: OptionalId = None, limit: Limit = 20) -> PostPage:
    """Newest first; ``before`` is the previous page's ``next_before``."""
    return await posts.feed(session, shop, viewer_id=_viewer(shop, claims), product_id=product_id,
                            author_id=author_id, author_type=author_type, before=before, limit=limit)


@router.post("/posts", response_model=PostOut, status_code=201)
async def write_post(body: PostIn, shop: CurrentShop, customer: ShopCustomer, session: DbSession) -> PostOut:
    """Approved promoters only (403 ``not_a_promoter``); rate-limited (429 ``rate_limited``)."""
    await posts.ensure_promoter(session, shop.id, customer.subject_id)
    return await posts.create(session, shop, customer.subject_id, body)


@router.get("/posts/{post_id}", response_model=PostOut)
async def post(post_id: IdPath, shop: CurrentShop, session: DbSession, claims: OptionalCustomerClaims) -> PostOut:
    """With its ``share_code``: record the view with ``POST visits {share_code}``."""
    return await posts.get(session, shop, post_id, viewer_id=_viewer(shop, claims))


@router.post("/posts/{post_id}/like", response_model=LikeOut)
async def like(post_id: IdPath, shop: CurrentShop, customer: ShopCustomer, session: DbSession) -> LikeOut:
    return await posts.like(session, shop.id, customer.subject_id, post_id, on=True)


@router.delete("/posts/{post_id}/like", response_model=LikeOut)
async def unlike(post_id: IdPath, shop: CurrentShop, customer: ShopCustomer, session: DbSession) -> LikeOut:
    return await posts.like(session, shop.id, customer.subject_id, post_id, on=False)


@router.post("/posts/{post_id}/comments", response_model=CommentOut, status_code=201)
async def comment(post_id: IdPath, body: CommentIn, shop: CurrentShop, customer: ShopCustomer,
                  session: DbSession) -> CommentOut:
    return await posts.comment(session, shop.id, customer.subject_id, post_id, body.body)


@router.get("/posts/{post_id}/comments", response_model=list[CommentOut])
async def comments(post_id: IdPath, shop: CurrentShop, session: DbSession, claims: OptionalCustomerClaims,
                   limit: Limit = 20, offset: Offset = 0) -> list[CommentOut]:
    return await posts.comments(session, shop, post_id, viewer_id=_viewer(shop, claims), limit=limit, offset=offset)


@router.post("/posts/{post_id}/reports", response_model=ReportOut, status_code=201)
async def report(post_id: IdPath, body: ReportIn, shop: CurrentShop, customer: ShopCustomer,
                 session: DbSession) -> ReportOut:
    """Once per customer (409 ``already_reported``)."""
    return await posts.report(session, shop.id, customer.subject_id, post_id, body.reason)


# --- communities -------------------------------------------------------------------------------------------

@router.get("/communities", response_model=list[CommunityOut])
async def list_communities(request: Request, shop: CurrentShop, session: DbSession, claims: OptionalCustomerClaims,
                           mine: bool = False, limit: Limit = 20, offset: Offset = 0) -> list[CommunityOut]:
    """Open communities and one's own (``mine=true``: only one's own)."""
    rows = await communities.listing(session, shop.id, _viewer(shop, claims), mine=mine, limit=limit, offset=offset)
    return [communities.out(r, role, base_url=_base(request), shop=shop) for r, role in rows]


@router.post("/communities", response_model=CommunityOut, status_code=201)
async def create_community(body: CommunityIn, request: Request, shop: CurrentShop, customer: ShopCustomer,
                           session: DbSession) -> CommunityOut:
    """Approved promoters only; the creator is the owner."""
    await posts.ensure_promoter(session, shop.id, customer.subject_id)
    await guard.ensure_not_banned(session, shop.id, customer.subject_id)
    r, role = await communities.create(session, shop.id, customer.subject_id, body)
    return communities.out(r, role, base_url=_base(request), shop=shop)


@router.post("/communities/join", response_model=CommunityOut)
async def join_by_code(body: JoinIn, request: Request, shop: CurrentShop, customer: ShopCustomer,
                       session: DbSession) -> CommunityOut:
    """By invite code (typed, or read from the invite QR code); answers the community with its ``rules``."""
    r = await communities.by_invite(session, shop.id, body.invite_code)
    r, role = await communities.join(session, shop.id, r, customer.subject_id)
    return communities.out(r, role, base_url=_base(request), shop=shop)


@router.get("/communities/invite/{code}", response_model=CommunityOut)
async def invitation(code: InviteCode, request: Request, shop: CurrentShop, session: DbSession,
                     claims: OptionalCustomerClaims) -> CommunityOut:
    """What an invite shows before joining: name, description, rules, size."""
    r = await communities.by_invite(session, shop.id, code)
    role = await communities.role_of(session, r.id, _viewer(shop, claims))
    return communities.out(r, role, base_url=_base(request), shop=shop)


@router.get("/communities/invite/{code}/qr.png", response_class=Response)
async def invitation_qr(code: InviteCode, request: Request, shop: CurrentShop, session: DbSession) -> Response:
    r = await communities.by_invite(session, shop.id, code)
    return share_images.png(await share_images.qr_png(communities.invite_url(_base(request), shop, r.invite_code)))


@router.get("/communities/{community_id}", response_model=CommunityOut)
async def community(community_id: IdPath, request: Request, shop: CurrentShop, session: DbSession,
                    claims: OptionalCustomerClaims) -> CommunityOut:
    r, role = await communities.visible(session, shop.id, community_id, _viewer(shop, claims))
    return communities.out(r, role, base_url=_base(request), shop=shop)


@router.post("/communities/{community_id}/join", response_model=CommunityOut)
async def join_open(community_id: IdPath, request: Request, shop: CurrentShop, customer: ShopCustomer,
                    session: DbSession) -> CommunityOut:
    """Open communities; invite-only ones are joined with ``POST communities/join {invite_code}``."""
    r, role = await communities.join_open(session, shop.id, community_id, customer.subject_id)
    return communities.out(r, role, base_url=_base(request), shop=shop)


@router.post("/communities/{community_id}/leave", status_code=204)
async def leave(community_id: IdPath, shop: CurrentShop, customer: ShopCustomer, session: DbSession) -> Response:
    await communities.leave(session, shop.id, community_id, customer.subject_id)
    return Response(status_code=204)


@router.get("/communities/{community_id}/members", response_model=MemberPage)
async def members(community_id: IdPath, shop: CurrentShop, customer: ShopCustomer, session: DbSession,
                  limit: Limit = 50, offset: Offset = 0) -> MemberPage:
    """Members only; nicknames masked, never an openid or a phone."""
    await communities.member(session, shop.id, community_id, customer.subject_id)
    return await communities.members(session, shop.id, community_id, limit=limit, offset=offset)


@router.delete("/communities/{community_id}/members/{member_id}", status_code=204)
async def remove_member(community_id: IdPath, member_id: IdPath, shop: CurrentShop, customer: ShopCustomer,
                        session: DbSession) -> Response:
    """The owner removes admins and members; admins remove members. A removed member cannot rejoin."""
    _, role = await communities.member(session, shop.id, community_id, customer.subject_id)
    await communities.remove(session, shop.id, community_id, member_id, actor_role=role)
    return Response(status_code=204)


@router.put("/communities/{community_id}/members/{member_id}/role", response_model=MemberOut)
async def set_role(community_id: IdPath, member_id: IdPath, body: RoleIn, shop: CurrentShop, customer: ShopCustomer,
                   session: DbSession) -> MemberOut:
    _, role = await communities.member(session, shop.id, community_id, customer.subject_id)
    return await communities.set_role(session, shop.id, community_id, member_id, body.role, actor_role=role)


@router.get("/communities/{community_id}/announcements", response_model=list[AnnouncementOut])
async def announcements(community_id: IdPath, shop: CurrentShop, customer: ShopCustomer, session: DbSession,
                        limit: Limit = 20, offset: Offset = 0) -> list[AnnouncementOut]:
    """Pinned first; a red packet's announcement carries its ``red_packet_code``."""
    await communities.member(session, shop.id, community_id, customer.subject_id)
    return await communities.announcements(session, shop.id, community_id, limit=limit, offset=offset)


@router.post("/communities/{community_id}/announcements", response_model=AnnouncementOut, status_code=201)
async def announce(community_id: IdPath, body: AnnouncementIn, shop: CurrentShop, customer: ShopCustomer,
                   session: DbSession) -> AnnouncementOut:
    """The owner and admins."""
    _, role = await communities.member(session, shop.id, community_id, customer.subject_id)
    if not rules.may_announce(role):
        raise Forbidden("not_allowed", "Only the owner and admins post announcements.")
    await guard.writer(session, shop.id, customer.subject_id, "topic")
    return await communities.announce(session, shop.id, community_id, customer.subject_id, body)


@router.get("/communities/{community_id}/red-packets", response_model=list[RedPacketOut])
async def community_red_packets(community_id: IdPath, shop: CurrentShop, customer: ShopCustomer, session: DbSession,
                                limit: Limit = 20, offset: Offset = 0) -> list[RedPacketOut]:
    """The shop's packets sent here; claim one with ``POST red-packets/{code}/claim`` (members only)."""
    await communities.member(session, shop.id, community_id, customer.subject_id)
    return await redpackets.by_source(session, shop.id, communities.SOURCE, community_id, limit=limit, offset=offset)


@router.get("/communities/{community_id}/topics", response_model=TopicPage)
async def list_topics(community_id: IdPath, shop: CurrentShop, customer: ShopCustomer, session: DbSession,
                      before: OptionalId = None, limit: Limit = 20) -> TopicPage:
    return await topics.listing(session, shop.id, community_id, customer.subject_id, before=before, limit=limit)


@router.post("/communities/{community_id}/topics", response_model=TopicOut, status_code=201)
async def start_topic(community_id: IdPath, body: TopicIn, shop: CurrentShop, customer: ShopCustomer,
                      session: DbSession) -> TopicOut:
    return await topics.create(session, shop.id, community_id, customer.subject_id, body)


@router.get("/topics/{topic_id}", response_model=TopicDetail)
async def topic(topic_id: IdPath, shop: CurrentShop, customer: ShopCustomer, session: DbSession) -> TopicDetail:
    return await topics.detail(session, shop.id, topic_id, customer.subject_id)


@router.post("/topics/{topic_id}/replies", response_model=ReplyOut, status_code=201)
async def reply(topic_id: IdPath, body: ReplyIn, shop: CurrentShop, customer: ShopCustomer,
                session: DbSession) -> ReplyOut:
    """``parent_id`` answers a reply; at most two levels (422 ``thread_too_deep``)."""
    return await topics.reply(session, shop.id, topic_id, customer.subject_id, body)


# --- console: posts and moderation ---------------------------------------------------------------------------

@console.post("/posts", response_model=PostOut, status_code=201)
async def shop_post(body: PostIn, shop: ConsoleShop, session: DbSession) -> PostOut:
    return await posts.create(session, shop, None, body)


@console.get("/posts", response_model=ConsolePostPage)
async def console_posts(shop: ConsoleShop, session: DbSession, reported: bool | None = None,
                        hidden: bool | None = None, author_id: OptionalId = None,
                        awaiting_review: bool | None = None, limit: Limit = 20, offset: Offset = 0) -> ConsolePostPage:
    """``reported=true``: reported posts, the most reported first; ``awaiting_review=true``: visible posts with
    reports not reviewed yet (the moderation queue)."""
    return await posts.console_list(session, shop, reported=reported, hidden=hidden, author_id=author_id,
                                    awaiting_review=awaiting_review, limit=limit, offset=offset)


@console.get("/posts/{post_id}", response_model=ConsolePostOut)
async def console_post(post_id: IdPath, shop: ConsoleShop, session: DbSession) -> ConsolePostOut:
    return await posts.console_get(session, shop, post_id)


@console.post("/posts/{post_id}/hide", response_model=ConsolePostOut)
async def hide_post(post_id: IdPath, shop: ConsoleShop, session: DbSession) -> ConsolePostOut:
    return await posts.set_hidden(session, shop, post_id, True)


@console.post("/posts/{post_id}/unhide", response_model=ConsolePostOut)
async def unhide_post(post_id: IdPath, shop: ConsoleShop, session: DbSession) -> ConsolePostOut:
    return await posts.set_hidden(session, shop, post_id, False)


@console.post("/posts/{post_id}/approve", response_model=ConsolePostOut)
async def approve_post(post_id: IdPath, shop: ConsoleShop, session: DbSession) -> ConsolePostOut:
    """Keep the post: visible, its reports so far reviewed (it leaves the queue until new reports come)."""
    return await posts.approve(session, shop, post_id)


@console.get("/comments", response_model=ConsoleCommentPage)
async def console_all_comments(shop: ConsoleShop, session: DbSession, hidden: bool | None = None,
                               post_id: OptionalId = None, limit: Limit = 20, offset: Offset = 0) -> ConsoleCommentPage:
    """The shop's comments, newest first, for moderation (hide with ``POST comments/{id}/hide``)."""
    return await posts.console_comments(session, shop.id, hidden=hidden, post_id=post_id, limit=limit, offset=offset)


@console.get("/posts/{post_id}/reports", response_model=list[ConsoleReportOut])
async def post_reports(post_id: IdPath, shop: ConsoleShop, session: DbSession, limit: Limit = 50,
                       offset: Offset = 0) -> list[ConsoleReportOut]:
    await posts.console_get(session, shop, post_id)
    return await posts.console_reports(session, shop.id, post_id, limit=limit, offset=offset)


@console.get("/posts/{post_id}/comments", response_model=list[CommentOut])
async def console_comments(post_id: IdPath, shop: ConsoleShop, session: DbSession, limit: Limit = 50,
                           offset: Offset = 0) -> list[CommentOut]:
    await posts.console_get(session, shop, post_id)
    return await posts.comments(session, shop, post_id, viewer_id=None, console=True, limit=limit, offset=offset)


@console.post("/comments/{comment_id}/hide", response_model=CommentOut)
async def hide_comment(comment_id: IdPath, shop: ConsoleShop, session: DbSession) -> CommentOut:
    return await posts.set_comment_hidden(session, shop.id, comment_id, True)


@console.post("/comments/{comment_id}/unhide", response_model=CommentOut)
async def unhide_comment(comment_id: IdPath, shop: ConsoleShop, session: DbSession) -> CommentOut:
    return await posts.set_comment_hidden(session, shop.id, comment_id, False)


@console.post("/community/bans", response_model=BanOut, status_code=201)
async def ban(body: BanIn, shop: ConsoleShop, session: DbSession) -> BanOut:
    """No more posts, comments, topics or replies (403 ``banned_from_community``); what they wrote stays unless
    hidden."""
    return await guard.ban(session, shop.id, body.customer_id, body.reason)


@console.delete("/community/bans/{customer_id}", status_code=204)
async def unban(customer_id: IdPath, shop: ConsoleShop, session: DbSession) -> Response:
    await guard.unban(session, shop.id, customer_id)
    return Response(status_code=204)


@console.get("/community/bans", response_model=list[BanOut])
async def bans(shop: ConsoleShop, session: DbSession, limit: Limit = 50, offset: Offset = 0) -> list[BanOut]:
    return await guard.bans(session, shop.id, limit=limit, offset=offset)


# --- console: communities --------------------------------------------------------------------------------------

@console.post("/communities", response_model=CommunityOut, status_code=201)
async def shop_community(body: CommunityIn, request: Request, shop: ConsoleShop, session: DbSession) -> CommunityOut:
    r, _ = await communities.create(session, shop.id, None, body)
    return communities.out(r, None, base_url=_base(request), shop=shop, console=True)


@console.get("/communities", response_model=list[CommunityOut])
async def console_communities(request: Request, shop: ConsoleShop, session: DbSession, limit: Limit = 20,
                              offset: Offset = 0) -> list[CommunityOut]:
    rows = await communities.console_listing(session, shop.id, limit=limit, offset=offset)
    return [communities.out(r, None, base_url=_base(request), shop=shop, console=True) for r in rows]


@console.get("/communities/{community_id}", response_model=CommunityOut)
async def console_community(community_id: IdPath, request: Request, shop: ConsoleShop,
                            session: DbSession) -> CommunityOut:
    r = await communities.row_of(session, shop.id, community_id)
    return communities.out(r, None, base_url=_base(request), shop=shop, console=True)


@console.get("/communities/{community_id}/members", response_model=MemberPage)
async def console_members(community_id: IdPath, shop: ConsoleShop, session: DbSession, limit: Limit = 50,
                          offset: Offset = 0) -> MemberPage:
    return await communities.members(session, shop.id, community_id, limit=limit, offset=offset)


@console.delete("/communities/{community_id}/members/{member_id}", status_code=204)
async def console_remove_member(community_id: IdPath, member_id: IdPath, shop: ConsoleShop,
                                session: DbSession) -> Response:
    await communities.remove(session, shop.id, community_id, member_id, actor_role=None, by_shop=True)
    return Response(status_code=204)


@console.put("/communities/{community_id}/members/{member_id}/role", response_model=MemberOut)
async def console_set_role(community_id: IdPath, member_id: IdPath, body: RoleIn, shop: ConsoleShop,
                           session: DbSession) -> MemberOut:
    return await communities.set_role(session, shop.id, community_id, member_id, body.role, actor_role=None,
                                      by_shop=True)


@console.post("/communities/{community_id}/announcements", response_model=AnnouncementOut, status_code=201)
async def console_announce(community_id: IdPath, body: AnnouncementIn, shop: ConsoleShop,
                           session: DbSession) -> AnnouncementOut:
    await communities.row_of(session, shop.id, community_id)
    return await communities.announce(session, shop.id, community_id, None, body)


@console.post("/communities/{community_id}/red-packets", status_code=201)
async def send_red_packet(community_id: IdPath, body: CommunityRedPacketIn, shop: ConsoleShop,
                          session: DbSession) -> dict[str, object]:
    """A festival packet for the community's members, announced pinned: ``{announcement, red_packet}``."""
    notice, packet = await communities.send_red_packet(session, shop.id, community_id, body)
    return {"announcement": notice.model_dump(mode="json"), "red_packet": packet.model_dump(mode="json")}


@console.get("/communities/{community_id}/topics", response_model=TopicPage)
async def console_topics(community_id: IdPath, shop: ConsoleShop, session: DbSession, before: OptionalId = None,
                         limit: Limit = 20) -> TopicPage:
    return await topics.listing(session, shop.id, community_id, None, before=before, limit=limit, console=True)


@console.post("/topics/{topic_id}/hide")
async def hide_topic(topic_id: IdPath, shop: ConsoleShop, session: DbSession) -> dict[str, object]:
    return await topics.set_topic_hidden(session, shop.id, topic_id, True)


@console.post("/topics/{topic_id}/unhide")
async def unhide_topic(topic_id: IdPath, shop: ConsoleShop, session: DbSession) -> dict[str, object]:
    return await topics.set_topic_hidden(session, shop.id, topic_id, False)


@console.post("/replies/{reply_id}/hide")
async def hide_reply(reply_id: IdPath, shop: ConsoleShop, session: DbSession) -> dict[str, object]:
    return await topics.set_reply_hidden(session, shop.id, reply_id, True)


@console.post("/replies/{reply_id}/unhide")
async def unhide_reply(reply_id: IdPath, shop: ConsoleShop, session: DbSession) -> dict[str, object]:
    return await topics.set_reply_hidden(session, shop.id, reply_id, False)
